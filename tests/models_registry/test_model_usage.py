"""Model calls recorded by ``usage.record_call`` and added up by ``/model_usage`` and
listed by ``/model_calls``: tokens, cost from the spec's prices, filters, scoping."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select

from builders import create_project
from model_builders import record, reply, spec
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.llm.errors import ModelRateLimited
from threadline.models import ModelCall

USAGE = "/api/v1/model_usage"
CALLS = "/api/v1/model_calls"


async def test_a_call_is_recorded_with_its_tokens_and_cost(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    execution = uuid.uuid4()
    answer = reply(1000, 500, model="gpt-4o-mini-2024-07-18")
    await record(resources, project, spec(), answer=answer, subject=("flow_execution", execution))
    async with resources.db.session() as session:
        row = (await session.execute(select(ModelCall))).scalar_one()
    assert (row.model_name, row.provider, row.model) == ("gpt", "openai", answer.model)
    assert (row.subject_kind, row.subject_id) == ("flow_execution", str(execution))
    assert (row.status, row.error_class, row.error_message) == ("ok", None, None)
    assert (row.input_tokens, row.output_tokens, row.duration_ms) == (1000, 500, 12)
    # 1000 * $1 + 500 * $2 per million tokens.
    assert row.cost == Decimal("0.002")
    assert str(row.project_id) == project.id


async def test_a_failure_is_recorded_without_the_key(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    model_spec = spec(api_key="sk-live-secret-123456")
    error = ModelRateLimited("429 for key sk-live-secret-123456: slow down", retry_after=2)
    await record(resources, project, model_spec, error=error, subject=("test_chat", "chat-1"))
    async with resources.db.session() as session:
        row = (await session.execute(select(ModelCall))).scalar_one()
    assert (row.status, row.error_class) == ("error", "ModelRateLimited")
    assert row.error_message == "429 for key [redacted]: slow down"
    assert (row.input_tokens, row.output_tokens, row.cost) == (0, 0, None)
    assert row.model == "gpt-4o-mini" and row.subject_id == "chat-1"


async def test_usage_adds_up_calls_tokens_and_cost_per_model(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    agent = uuid.uuid4()
    await record(resources, project, spec(), answer=reply(1000, 1000))
    await record(
        resources, project, spec(), answer=reply(3000, 0), subject=("agent_execution", agent)
    )
    await record(resources, project, spec(), error=TimeoutError("late"))
    await record(resources, project, spec("free", prices=None), answer=reply(10, 20))
    response = await client.get(USAGE, headers=project.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["calls"], data["errors"], data["unpriced_calls"]) == (4, 1, 2)
    assert (data["input_tokens"], data["output_tokens"], data["total_tokens"]) == (4010, 1020, 5030)
    assert data["cost"] == 0.006  # (1000*1 + 1000*2 + 3000*1) / 1e6
    lines = {line["model_name"]: line for line in data["by_model"]}
    assert set(lines) == {"free", "gpt"}
    assert lines["free"]["cost"] is None and lines["free"]["unpriced_calls"] == 1
    assert lines["gpt"]["calls"] == 3 and lines["gpt"]["errors"] == 1
    one_agent = await client.get(
        USAGE,
        headers=project.headers,
        params={"q[subject_kind_eq]": "agent_execution", "q[subject_id_eq]": str(agent)},
    )
    agent_data = one_agent.json()["data"]
    assert (agent_data["calls"], agent_data["input_tokens"], agent_data["cost"]) == (1, 3000, 0.003)
    free = await client.get(USAGE, headers=project.headers, params={"q[model_name_eq]": "free"})
    assert free.json()["data"]["total_tokens"] == 30


async def test_usage_of_nothing_is_zero(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    data = (await client.get(USAGE, headers=project.headers)).json()["data"]
    assert data == {
        "calls": 0,
        "errors": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "cost": None,
        "unpriced_calls": 0,
        "by_model": [],
    }


async def test_usage_and_calls_filter_by_date_range(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await record(resources, project, spec(), answer=reply(1, 1))
    async with resources.db.transaction() as session:
        row = (await session.execute(select(ModelCall))).scalar_one()
        row.created_at = utcnow() - timedelta(days=10)
    await record(resources, project, spec(), answer=reply(2, 2))
    since = (utcnow() - timedelta(days=1)).isoformat()
    recent = await client.get(USAGE, headers=project.headers, params={"q[created_at_gteq]": since})
    assert recent.json()["data"]["calls"] == 1 and recent.json()["data"]["input_tokens"] == 2
    old = await client.get(CALLS, headers=project.headers, params={"q[created_at_lteq]": since})
    assert [call["input_tokens"] for call in old.json()["data"]] == [1]


async def test_calls_are_listed_newest_first_with_pagination_and_filters(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    for tokens in (1, 2, 3):
        await record(resources, project, spec(), answer=reply(tokens, 0))
    await record(resources, project, spec(), error=ValueError("bad"))
    first = await client.get(CALLS, headers=project.headers, params={"per_page": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total_pages": 2, "total_count": 4}
    assert [call["status"] for call in body["data"]] == ["error", "ok"]
    assert body["data"][1]["input_tokens"] == 3 and body["data"][0]["error_class"] == "ValueError"
    second = await client.get(CALLS, headers=project.headers, params={"per_page": 2, "page": 2})
    assert [call["input_tokens"] for call in second.json()["data"]] == [2, 1]
    ok = await client.get(CALLS, headers=project.headers, params={"q[status_eq]": "ok"})
    assert ok.json()["meta"]["total_count"] == 3
    bad = await client.get(CALLS, headers=project.headers, params={"q[status_eq]": "maybe"})
    assert bad.status_code == 422


async def test_usage_and_calls_are_the_callers_projects_only(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    await record(resources, theirs, spec(), answer=reply(5, 5))
    await record(resources, mine, spec(), answer=reply(1, 1))
    usage = (await client.get(USAGE, headers=mine.headers)).json()["data"]
    assert usage["calls"] == 1 and usage["total_tokens"] == 2
    calls = (await client.get(CALLS, headers=mine.headers)).json()
    assert calls["meta"]["total_count"] == 1 and calls["data"][0]["input_tokens"] == 1


async def test_overlong_names_are_cut_to_fit(resources: Resources, sandbox_url: str) -> None:
    project = await create_project(resources, sandbox_url)
    long_name = "m" * 300
    await record(
        resources,
        project,
        spec(long_name, model=long_name),
        answer=reply(1, 1, model=long_name),
        subject=("k" * 60, "s" * 150),
    )
    async with resources.db.session() as session:
        row = (await session.execute(select(ModelCall))).scalar_one()
    assert len(row.model_name) == 200 and len(row.model) == 200
    assert len(row.subject_kind) == 40 and row.subject_id == "s" * 100
