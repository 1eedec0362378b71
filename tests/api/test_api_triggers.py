"""Flow triggers through the API: create, list, switch on and off, delete."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from builders import add_api_trigger, count_rows, create_flow, create_project
from threadline.kit.resources import Resources
from threadline.models import FlowTrigger


async def test_create_api_call_trigger(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)

    trigger = await add_api_trigger(client, project, flow["id"])
    assert trigger["flow_id"] == flow["id"]
    assert trigger["trigger_type"] == "api_call"
    assert trigger["active"] is True
    assert trigger["display_name"] == "API call"
    assert trigger["triggerable"]["id"] == trigger["id"]
    assert trigger["created_at"] == trigger["updated_at"]

    inactive = await add_api_trigger(client, project, flow["id"], active=False)
    assert inactive["active"] is False
    assert await count_rows(resources, FlowTrigger) == 2


async def test_inbound_message_triggers_listen_on_a_config_with_keywords_or_a_pattern(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)
    body = {"trigger_type": "inbound_message", "keywords": [" Hi ", "hello"], "pattern": "^order"}
    response = await client.post(
        f"/api/v1/flows/{flow['id']}/triggers", headers=project.headers, json={"trigger": body}
    )
    assert response.status_code == 201, response.text
    triggerable = response.json()["data"]["triggerable"]
    # No config named: the project's default one.
    assert triggerable["whatsapp_config_id"] is not None
    assert (triggerable["keywords"], triggerable["pattern"]) == (["Hi", "hello"], "^order")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"trigger_type": "inbound_message", "pattern": "(unclosed"}, "regular expression"),
        ({"trigger_type": "inbound_message", "keywords": [""]}, "keywords"),
        ({"trigger_type": "inbound_message", "whatsapp_config_id": str(uuid.uuid4())}, "config"),
        ({"trigger_type": "api_call", "keywords": ["hi"]}, "inbound_message triggers only"),
    ],
)
async def test_bad_inbound_triggers_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    fields: dict[str, object],
    says: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)
    response = await client.post(
        f"/api/v1/flows/{flow['id']}/triggers", headers=project.headers, json={"trigger": fields}
    )
    assert response.status_code in (404, 422), response.text
    assert says in response.text
    assert await count_rows(resources, FlowTrigger) == 0


async def test_list_shows_the_flows_triggers_oldest_first(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)
    other_flow = await create_flow(client, project, name="Other")
    first = await add_api_trigger(client, project, flow["id"])
    second = await add_api_trigger(client, project, flow["id"], active=False)
    await add_api_trigger(client, project, other_flow["id"])

    response = await client.get(f"/api/v1/flows/{flow['id']}/triggers", headers=project.headers)
    assert response.status_code == 200
    assert response.json()["data"] == [first, second]

    missing = await client.get(f"/api/v1/flows/{uuid.uuid4()}/triggers", headers=project.headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "Flow not found"


async def test_patch_switches_a_trigger_on_and_off(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)
    trigger = await add_api_trigger(client, project, flow["id"])
    path = f"/api/v1/triggers/{trigger['id']}"

    off = await client.patch(path, headers=project.headers, json={"trigger": {"active": False}})
    assert off.status_code == 200, off.text
    assert off.json()["data"]["active"] is False
    assert datetime.fromisoformat(off.json()["data"]["updated_at"]) >= datetime.fromisoformat(
        trigger["updated_at"]
    )
    listed = await client.get(f"/api/v1/flows/{flow['id']}/triggers", headers=project.headers)
    assert [t["active"] for t in listed.json()["data"]] == [False]

    unchanged = await client.patch(path, headers=project.headers, json={"trigger": {}})
    assert unchanged.status_code == 200
    assert unchanged.json()["data"]["active"] is False

    # Only ``active`` is writable: the type of a trigger cannot be changed.
    on = await client.patch(
        path,
        headers=project.headers,
        json={"trigger": {"active": True, "trigger_type": "inbound_message"}},
    )
    assert on.status_code == 200
    assert (on.json()["data"]["active"], on.json()["data"]["trigger_type"]) == (True, "api_call")


async def test_delete_is_204_and_then_the_trigger_is_gone(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)
    doomed = await add_api_trigger(client, project, flow["id"])
    kept = await add_api_trigger(client, project, flow["id"])
    path = f"/api/v1/triggers/{doomed['id']}"

    deleted = await client.delete(path, headers=project.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""

    again = await client.delete(path, headers=project.headers)
    assert again.status_code == 404
    assert again.json() == {
        "error": "Trigger not found",
        "status": 404,
        "message": "The trigger does not exist in this project.",
    }
    patched = await client.patch(path, headers=project.headers, json={"trigger": {"active": True}})
    assert patched.status_code == 404
    listed = await client.get(f"/api/v1/flows/{flow['id']}/triggers", headers=project.headers)
    assert [t["id"] for t in listed.json()["data"]] == [kept["id"]]
    flow_still_there = await client.get(f"/api/v1/flows/{flow['id']}", headers=project.headers)
    assert flow_still_there.status_code == 200
