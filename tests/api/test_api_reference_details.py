"""Details where the Kapso v1 reference decides: another project's WhatsApp config is a 422,
path ids are UUIDs in any letter case, E.164 is ASCII digits, every list pages with ``meta``,
and an execution can be found by the tracking id its create answered with."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from builders import (
    TestProject,
    add_api_trigger,
    ask_and_reply,
    count_rows,
    create_active_flow,
    create_flow,
    create_project,
    run_jobs,
)
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, WhatsappConfig


async def _start(
    client: httpx.AsyncClient, project: TestProject, flow_id: str, **body: Any
) -> httpx.Response:
    body = {"phone_number": "+15550001111", **body}
    return await client.post(
        f"/api/v1/flows/{flow_id}/executions", headers=project.headers, json=body
    )


async def _config_of(resources: Resources, project: TestProject) -> str:
    from sqlalchemy import select

    async with resources.db.session() as session:
        statement = select(WhatsappConfig.id).where(
            WhatsappConfig.project_id == uuid.UUID(project.id)
        )
        return str((await session.execute(statement)).scalar_one())


async def test_another_projects_whatsapp_config_is_a_422(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    flow_id = await create_active_flow(client, mine, ask_and_reply())

    for config_id in (await _config_of(resources, theirs), str(uuid.uuid4())):
        refused = await _start(client, mine, flow_id, whatsapp_config_id=config_id)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "Invalid WhatsApp config"
        assert "whatsapp_config_id" in refused.json()["message"]
    own = await _start(client, mine, flow_id, whatsapp_config_id=await _config_of(resources, mine))
    assert own.status_code == 202, own.text
    assert await count_rows(resources, FlowExecution) == 1


@pytest.mark.parametrize(
    "phone",
    [
        "+1\u0663\u0663\u0663\u0663\u0663\u0663\u0663",
        "+1\uff15\uff15\uff15\uff15\uff15",
        "+1555\u0967",
    ],
    ids=["arabic-indic", "fullwidth", "devanagari"],
)
async def test_e164_takes_only_ascii_digits(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, phone: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())

    refused = await _start(client, project, flow_id, phone_number=phone)

    assert refused.status_code == 422, refused.text
    assert "phone_number" in refused.json()["message"]
    assert await count_rows(resources, FlowExecution) == 0


async def test_every_path_id_is_accepted_in_upper_case(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    flow_id = await create_active_flow(client, project, ask_and_reply())
    trigger = await add_api_trigger(client, project, flow_id)
    started = await _start(client, project, flow_id)
    await run_jobs(resources)
    listing = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=h)
    execution_id = listing.json()["data"][0]["id"]
    function = await client.post(
        "/api/v1/functions",
        headers=h,
        json={"function": {"name": "F", "url": "https://x.test/f", "secret": "s" * 32}},
    )
    assert started.status_code == 202 and function.status_code == 201
    up = str.upper
    requests: list[tuple[str, str, Any, int]] = [
        ("GET", f"/api/v1/projects/{up(project.id)}", None, 200),
        ("GET", f"/api/v1/flows/{up(flow_id)}", None, 200),
        ("PATCH", f"/api/v1/flows/{up(flow_id)}", {"flow": {"name": "Renamed"}}, 200),
        ("GET", f"/api/v1/flows/{up(flow_id)}/definition", None, 200),
        ("GET", f"/api/v1/flows/{up(flow_id)}/triggers", None, 200),
        (
            "POST",
            f"/api/v1/flows/{up(flow_id)}/triggers",
            {"trigger": {"trigger_type": "api_call"}},
            201,
        ),
        ("PATCH", f"/api/v1/triggers/{up(trigger['id'])}", {"trigger": {"active": True}}, 200),
        ("GET", f"/api/v1/flows/{up(flow_id)}/executions", None, 200),
        ("POST", f"/api/v1/flows/{up(flow_id)}/executions", {"phone_number": "+15550001111"}, 202),
        ("GET", f"/api/v1/flow_executions/{up(execution_id)}", None, 200),
        ("GET", f"/api/v1/flow_executions/{up(execution_id)}/events", None, 200),
        ("POST", f"/api/v1/flow_executions/{up(execution_id)}/resume", {"input": "x"}, 200),
        ("GET", f"/api/v1/functions/{up(function.json()['data']['id'])}", None, 200),
        ("DELETE", f"/api/v1/functions/{up(function.json()['data']['id'])}", None, 204),
        ("DELETE", f"/api/v1/triggers/{up(trigger['id'])}", None, 204),
    ]
    for method, path, body, expected in requests:
        response = await client.request(method, path, headers=h, json=body)
        assert response.status_code == expected, (method, path, response.text)


async def test_flow_and_trigger_lists_page_with_meta(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    flows = [await create_flow(client, project, name=f"F{i}") for i in range(3)]
    for _ in range(3):
        await add_api_trigger(client, project, flows[0]["id"])

    first = await client.get("/api/v1/flows", headers=h, params={"per_page": 2})
    second = await client.get("/api/v1/flows", headers=h, params={"page": 2, "per_page": 2})
    triggers = await client.get(
        f"/api/v1/flows/{flows[0]['id']}/triggers", headers=h, params={"page": 2, "per_page": 2}
    )
    default = await client.get("/api/v1/flows", headers=h)

    assert first.json()["meta"] == {"page": 1, "per_page": 2, "total_pages": 2, "total_count": 3}
    assert second.json()["meta"] == {"page": 2, "per_page": 2, "total_pages": 2, "total_count": 3}
    seen = [f["id"] for f in first.json()["data"] + second.json()["data"]]
    assert sorted(seen) == sorted(f["id"] for f in flows)
    assert triggers.json()["meta"] == {
        "page": 2,
        "per_page": 2,
        "total_pages": 2,
        "total_count": 3,
    }
    assert len(triggers.json()["data"]) == 1
    assert default.json()["meta"]["per_page"] == 20
    for bad in ({"page": 0}, {"per_page": 101}, {"per_page": "x"}):
        refused = await client.get("/api/v1/flows", headers=h, params=bad)
        assert refused.status_code == 422, refused.text


async def test_an_execution_is_found_by_its_tracking_id(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    tracking_ids = [(await _start(client, project, flow_id)).json()["tracking_id"] for _ in "abc"]
    path = f"/api/v1/flows/{flow_id}/executions"

    for tracking_id in tracking_ids:
        found = await client.get(
            path, headers=project.headers, params={"q[tracking_id_eq]": tracking_id}
        )
        assert found.status_code == 200, found.text
        assert [e["tracking_id"] for e in found.json()["data"]] == [tracking_id]
        assert found.json()["meta"]["total_count"] == 1
    unknown = {"q[tracking_id_eq]": str(uuid.uuid4())}
    assert (await client.get(path, headers=project.headers, params=unknown)).json()["data"] == []
    malformed = {"q[tracking_id_eq]": "not-a-uuid"}
    assert (await client.get(path, headers=project.headers, params=malformed)).status_code == 422
