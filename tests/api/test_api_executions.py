"""Flow executions through the API: start rules, listing, reading, resuming, idempotency."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from http_stub import HttpStub
from sqlalchemy import update

from builders import (
    TestProject,
    add_api_trigger,
    ask_and_reply,
    chain,
    count_rows,
    create_active_flow,
    create_flow,
    create_project,
    execution_events,
    get_execution,
    node,
    resume,
    run_jobs,
    start_execution,
)
from threadline.kit.resources import Resources
from threadline.models import FlowExecution

NOT_ACTIVE = "Flow is not active"
NO_TRIGGER = "Flow has no active API trigger"
NOT_RESUMABLE = {
    "error": "Execution cannot be resumed",
    "status": 422,
    "message": "The execution is not in a waiting state.",
}


async def _post_execution(
    client: httpx.AsyncClient,
    project: TestProject,
    flow_id: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
) -> httpx.Response:
    headers = dict(project.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(f"/api/v1/flows/{flow_id}/executions", headers=headers, json=body)


async def _list(
    client: httpx.AsyncClient, project: TestProject, flow_id: str, **params: Any
) -> httpx.Response:
    return await client.get(
        f"/api/v1/flows/{flow_id}/executions", headers=project.headers, params=params
    )


async def _tracking_ids(
    client: httpx.AsyncClient, project: TestProject, flow_id: str, **params: Any
) -> list[str]:
    response = await _list(client, project, flow_id, per_page=100, **params)
    assert response.status_code == 200, response.text
    return [execution["tracking_id"] for execution in response.json()["data"]]


# Starting


async def test_a_draft_flow_cannot_be_started(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())
    await add_api_trigger(client, project, flow["id"])

    response = await _post_execution(client, project, flow["id"], {"phone_number": "+15550001111"})
    assert response.status_code == 422
    assert response.json()["error"] == NOT_ACTIVE
    assert await count_rows(resources, FlowExecution) == 0


async def test_a_flow_needs_an_active_api_trigger(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    triggers = await client.get(f"/api/v1/flows/{flow_id}/triggers", headers=project.headers)
    trigger_path = f"/api/v1/triggers/{triggers.json()['data'][0]['id']}"
    body = {"phone_number": "+15550001111"}

    off = {"trigger": {"active": False}}
    assert (await client.patch(trigger_path, headers=project.headers, json=off)).status_code == 200
    refused = await _post_execution(client, project, flow_id, body)
    assert refused.status_code == 422
    assert refused.json()["error"] == NO_TRIGGER
    assert refused.json()["status"] == 422
    assert "active API trigger" in refused.json()["message"]
    assert refused.json()["details"] == refused.json()["message"]

    on = {"trigger": {"active": True}}
    assert (await client.patch(trigger_path, headers=project.headers, json=on)).status_code == 200
    assert (await _post_execution(client, project, flow_id, body)).status_code == 202

    assert (await client.delete(trigger_path, headers=project.headers)).status_code == 204
    gone = await _post_execution(client, project, flow_id, body)
    assert (gone.status_code, gone.json()["error"]) == (422, NO_TRIGGER)
    assert await count_rows(resources, FlowExecution) == 1


async def test_an_archived_flow_cannot_be_started(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    archive = {"flow": {"status": "archived"}}
    path = f"/api/v1/flows/{flow_id}"
    assert (await client.patch(path, headers=project.headers, json=archive)).status_code == 200
    response = await _post_execution(client, project, flow_id, {"phone_number": "+15550001111"})
    assert (response.status_code, response.json()["error"]) == (422, NOT_ACTIVE)


@pytest.mark.parametrize(
    "phone",
    [
        "15550001111",
        "+0155500011",
        "+1 555 000 1111",
        "+1-555-000-1111",
        "+1234567890123456",
        "+",
        "",
        "+1555abc",
        "+15550001111\n",
        15550001111,
        None,
    ],
)
async def test_phone_numbers_must_be_e164(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, phone: Any
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    response = await _post_execution(client, project, flow_id, {"phone_number": phone})
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["errors"]] == ["phone_number"]
    assert await count_rows(resources, FlowExecution) == 0


async def test_whatsapp_config_must_belong_to_the_project(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    other_flow_id = await create_active_flow(client, other, ask_and_reply())

    async def config_id(owner: TestProject, flow: str) -> str:
        response = await client.get(f"/api/v1/flows/{flow}/definition", headers=owner.headers)
        config: str = response.json()["data"]["whatsapp_configs"][0]["id"]
        return config

    base = {"phone_number": "+15550001111"}
    for unknown in (str(uuid.uuid4()), await config_id(other, other_flow_id)):
        response = await _post_execution(
            client, project, flow_id, {**base, "whatsapp_config_id": unknown}
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "Invalid WhatsApp config"
    malformed = await _post_execution(
        client, project, flow_id, {**base, "whatsapp_config_id": "config-123abc"}
    )
    assert malformed.status_code == 422
    assert await count_rows(resources, FlowExecution) == 0

    own = await _post_execution(
        client, project, flow_id, {**base, "whatsapp_config_id": await config_id(project, flow_id)}
    )
    assert own.status_code == 202, own.text


async def test_create_answers_202_with_a_tracking_id(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    response = await _post_execution(client, project, flow_id, {"phone_number": "+15550001111"})
    assert response.status_code == 202
    body = response.json()
    assert body["flow_id"] == flow_id
    assert body["message"] == "Flow execution queued"
    assert await _tracking_ids(client, project, flow_id) == [body["tracking_id"]]


# Reading


def _with_display_names(definition: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    for item in definition["nodes"]:
        if item["id"] in names:
            item["data"]["display_name"] = names[item["id"]]
    return definition


async def test_get_shows_the_execution_and_its_current_step(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = _with_display_names(ask_and_reply(), {"wait": "Wait for the answer"})
    flow_id = await create_active_flow(client, project, definition, name="Survey")
    response = await _post_execution(
        client,
        project,
        flow_id,
        {
            "phone_number": "+15550001111",
            "variables": {"name": "Ada"},
            "context": {"source": "app"},
            "initial_data": {"source": "overridden", "plan": "pro"},
        },
    )
    tracking_id = response.json()["tracking_id"]
    listed = (await _list(client, project, flow_id)).json()["data"][0]

    execution = await get_execution(client, project, listed["id"])
    assert execution == listed
    assert execution["tracking_id"] == tracking_id
    assert execution["flow_id"] == flow_id
    assert (execution["status"], execution["wait_reason"]) == ("waiting", "user_input")
    assert execution["phone_number"] == "+15550001111"
    assert execution["variables"] == {"name": "Ada"}
    assert execution["execution_context"] == {"source": "app", "plan": "pro"}
    assert execution["ended_at"] is None
    assert execution["flow"]["id"] == flow_id
    assert execution["flow"]["name"] == "Survey"
    step = execution["current_step"]
    assert (step["name"], step["step_type"], step["node_id"]) == (
        "Wait for the answer",
        "wait_for_response",
        "wait",
    )
    assert uuid.UUID(step["id"])
    assert (await get_execution(client, project, listed["id"]))["current_step"]["id"] == step["id"]

    unknown = await client.get(f"/api/v1/flow_executions/{uuid.uuid4()}", headers=project.headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "Flow execution not found"


async def test_list_filters_by_status_code(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    """One execution in each status: 0 running, 1 waiting, 2 ended, 3 failed."""
    http_stub.replies("/bad", (400, {"error": "no"}))
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node("call", "webhook", url=http_stub.url("/{{vars.path}}"), retries=0),
        node("wait", "wait_for_response"),
        node("bye", "send_text", message="Bye"),
    )
    flow_id = await create_active_flow(client, project, definition)

    async def start(path: str) -> dict[str, Any]:
        return await start_execution(client, project, flow_id, variables={"path": path})

    waiting = await start("ok")
    failed = await start("bad")
    ended = await start("ok")
    await run_jobs(resources)
    assert (await resume(client, project, ended["id"], {"input": "hi"})).status_code == 200
    await run_jobs(resources)
    running = await start("ok")

    expected = {0: running, 1: waiting, 2: ended, 3: failed}
    names = {0: "running", 1: "waiting", 2: "ended", 3: "failed"}
    for code, execution in expected.items():
        assert (await get_execution(client, project, execution["id"]))["status"] == names[code]
        found = await _tracking_ids(client, project, flow_id, **{"q[status_eq]": code})
        assert found == [execution["tracking_id"]], code
    assert len(await _tracking_ids(client, project, flow_id)) == 4

    for bad in (7, -1, 4):
        response = await _list(client, project, flow_id, **{"q[status_eq]": bad})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "Invalid parameters"
        assert "q[status_eq]" in response.json()["message"]
    named = await _list(client, project, flow_id, **{"q[status_eq]": "waiting"})
    assert named.status_code == 422


async def _set_started_at(resources: Resources, execution_id: str, when: datetime) -> None:
    async with resources.db.transaction() as session:
        await session.execute(
            update(FlowExecution)
            .where(FlowExecution.id == uuid.UUID(execution_id))
            .values(started_at=when)
        )


async def _three_dated_executions(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> tuple[TestProject, str, dict[str, str]]:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    tracking = {}
    for month in ("jan", "feb", "mar"):
        execution = await start_execution(client, project, flow_id)
        when = datetime(2026, {"jan": 1, "feb": 2, "mar": 3}[month], 10, 12, tzinfo=UTC)
        await _set_started_at(resources, execution["id"], when)
        tracking[month] = execution["tracking_id"]
    return project, flow_id, tracking


async def test_list_filters_by_started_at(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project, flow_id, t = await _three_dated_executions(client, resources, sandbox_url)
    gteq, lteq = "q[started_at_gteq]", "q[started_at_lteq]"

    async def found(params: dict[str, str]) -> list[str]:
        return await _tracking_ids(client, project, flow_id, **params)

    assert await found({}) == [t["mar"], t["feb"], t["jan"]]
    assert await found({gteq: "2026-02-10T12:00:00Z"}) == [t["mar"], t["feb"]]
    assert await found({lteq: "2026-02-10T12:00:00Z"}) == [t["feb"], t["jan"]]
    assert await found({gteq: "2026-02-10T12:00:00.000001Z"}) == [t["mar"]]
    assert await found({gteq: "2026-01-11T00:00:00Z", lteq: "2026-03-01T00:00:00Z"}) == [t["feb"]]
    # Offsets are honoured: 14:00 at +02:00 is 12:00 UTC.
    assert await found({gteq: "2026-02-10T14:00:00+02:00"}) == [t["mar"], t["feb"]]
    assert await found({lteq: "2026-02-10T07:00:00-05:00"}) == [t["feb"], t["jan"]]
    assert await found({gteq: "2026-04-01T00:00:00Z"}) == []

    for bad in ("yesterday", "2026-13-01T00:00:00Z"):
        response = await _list(client, project, flow_id, **{gteq: bad})
        assert response.status_code == 422, response.text


@pytest.fixture
def server_time_zone_west_of_utc() -> Iterator[None]:
    """Run the test with the process's local time zone 5 hours behind UTC."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "TST+05"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


async def test_started_at_filters_without_an_offset_are_utc(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    server_time_zone_west_of_utc: None,
) -> None:
    project, flow_id, t = await _three_dated_executions(client, resources, sandbox_url)
    found = await _tracking_ids(
        client, project, flow_id, **{"q[started_at_gteq]": "2026-02-10T12:00:00"}
    )
    assert found == [t["mar"], t["feb"]]
    found = await _tracking_ids(
        client, project, flow_id, **{"q[started_at_lteq]": "2026-02-10T12:00:00"}
    )
    assert found == [t["feb"], t["jan"]]


@pytest.mark.parametrize(
    "params",
    [
        {"q[started_at_gteq]": "9999-12-31T23:59:59-14:00"},
        {"q[started_at_lteq]": "0001-01-01T00:00:00+14:00"},
        {"page": 10**20},
        {"page": 2**62},
    ],
    ids=["after-year-9999", "before-year-1", "page-10e20", "page-2e62"],
)
async def test_extreme_list_parameters_are_4xx_not_500(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, params: dict[str, Any]
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    await start_execution(client, project, flow_id)
    response = await _list(client, project, flow_id, **params)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) >= {"error", "status", "message"}


async def test_list_is_paginated_newest_first(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    started = [(await start_execution(client, project, flow_id))["id"] for _ in range(5)]
    for index, execution_id in enumerate(started):
        await _set_started_at(resources, execution_id, datetime(2026, 1, index + 1, tzinfo=UTC))

    pages = []
    for page in (1, 2, 3, 4):
        response = await _list(client, project, flow_id, page=page, per_page=2)
        assert response.status_code == 200
        body = response.json()
        assert body["meta"] == {"page": page, "per_page": 2, "total_pages": 3, "total_count": 5}
        pages.append([execution["id"] for execution in body["data"]])
    assert pages == [started[4:2:-1], started[2:0:-1], started[:1], []]

    filtered = (await _list(client, project, flow_id, per_page=2, **{"q[status_eq]": 2})).json()
    assert filtered == {
        "data": [],
        "meta": {"page": 1, "per_page": 2, "total_pages": 1, "total_count": 0},
    }
    for bad in ({"per_page": 0}, {"per_page": 101}, {"page": 0}, {"page": "two"}):
        assert (await _list(client, project, flow_id, **bad)).status_code == 422


# Resuming


async def test_only_waiting_executions_can_be_resumed(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ask_flow = await create_active_flow(client, project, ask_and_reply(), name="Ask")
    say_flow = await create_active_flow(
        client, project, chain(node("start", "start"), node("hi", "send_text", message="Hi"))
    )

    ended = await start_execution(client, project, say_flow)
    assert ended["status"] == "ended"
    response = await resume(client, project, ended["id"], {"input": "late"})
    assert response.status_code == 422
    assert response.json() == NOT_RESUMABLE

    waiting = await start_execution(client, project, ask_flow)
    first = await resume(client, project, waiting["id"], {"input": "blue"})
    assert first.status_code == 200
    assert first.json()["data"]["status"] == "ended"  # the resume ran the flow to its end
    second = await resume(client, project, waiting["id"], {"input": "red"})
    assert second.status_code == 422
    assert second.json() == NOT_RESUMABLE

    await run_jobs(resources)
    final = await get_execution(client, project, waiting["id"])
    assert (final["status"], final["variables"]["answer"]) == ("ended", "blue")

    unknown = await resume(client, project, str(uuid.uuid4()), {"input": "x"})
    assert unknown.status_code == 404


# Idempotency


async def test_idempotent_create_starts_one_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    body = {"phone_number": "+15550001111", "variables": {"order": "A-1"}}

    first = await _post_execution(client, project, flow_id, body, key="order-A-1")
    again = await _post_execution(client, project, flow_id, body, key="order-A-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert await _tracking_ids(client, project, flow_id) == [first.json()["tracking_id"]]

    reused = await _post_execution(
        client, project, flow_id, {**body, "phone_number": "+15550002222"}, key="order-A-1"
    )
    assert reused.status_code == 422
    assert reused.json()["error"] == "Idempotency key reused"
    assert await count_rows(resources, FlowExecution) == 1

    other_key = await _post_execution(client, project, flow_id, body, key="order-A-2")
    assert other_key.json()["tracking_id"] != first.json()["tracking_id"]
    assert await count_rows(resources, FlowExecution) == 2

    # Keys are per project.
    other = await create_project(resources, sandbox_url)
    other_flow = await create_active_flow(client, other, ask_and_reply())
    theirs = await _post_execution(client, other, other_flow, body, key="order-A-1")
    assert theirs.status_code == 202
    assert theirs.json()["tracking_id"] != first.json()["tracking_id"]
    assert await count_rows(resources, FlowExecution) == 3


async def test_a_refused_create_does_not_use_up_its_key(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())
    await add_api_trigger(client, project, flow["id"])
    body = {"phone_number": "+15550001111"}

    refused = await _post_execution(client, project, flow["id"], body, key="k-1")
    assert refused.status_code == 422
    activate = {"flow": {"status": "active"}}
    path = f"/api/v1/flows/{flow['id']}"
    assert (await client.patch(path, headers=project.headers, json=activate)).status_code == 200
    accepted = await _post_execution(client, project, flow["id"], body, key="k-1")
    assert accepted.status_code == 202
    assert await count_rows(resources, FlowExecution) == 1


async def test_idempotent_resume_replays_the_first_answer(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution = await start_execution(client, project, flow_id)

    first = await resume(client, project, execution["id"], {"input": "blue"}, idempotency_key="r1")
    assert first.status_code == 200
    assert first.json()["data"]["status"] == "ended"  # run on in the resume's transaction
    await run_jobs(resources)
    assert (await get_execution(client, project, execution["id"]))["status"] == "ended"

    replay = await resume(client, project, execution["id"], {"input": "blue"}, idempotency_key="r1")
    assert replay.status_code == 200
    assert replay.json() == first.json()
    reused = await resume(client, project, execution["id"], {"input": "red"}, idempotency_key="r1")
    assert reused.status_code == 422
    assert reused.json()["error"] == "Idempotency key reused"

    await run_jobs(resources)
    final = await get_execution(client, project, execution["id"])
    assert (final["status"], final["variables"]["answer"]) == ("ended", "blue")
    kinds = [e["kind"] for e in await execution_events(client, project, execution["id"])]
    assert kinds.count("resumed") == 1
