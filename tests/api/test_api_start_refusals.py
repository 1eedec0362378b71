"""A flow that cannot be started says what is missing and how to add it."""

from __future__ import annotations

import httpx

from builders import ask_and_reply, create_flow, create_project
from threadline.kit.resources import Resources

START = {"phone_number": "+15550001111"}


async def test_an_active_flow_without_an_api_trigger_says_to_create_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())
    path = f"/api/v1/flows/{flow['id']}"
    activate = {"flow": {"status": "active"}}
    assert (await client.patch(path, headers=project.headers, json=activate)).status_code == 200

    refused = await client.post(f"{path}/executions", headers=project.headers, json=START)

    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "Flow has no active API trigger", body
    assert body["status"] == 422
    assert f"POST /flows/{flow['id']}/triggers" in body["details"], body
    assert '"trigger_type": "api_call"' in body["details"]
    assert body["message"] == body["details"]


async def test_a_draft_flow_says_to_activate_it(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())
    path = f"/api/v1/flows/{flow['id']}"

    refused = await client.post(f"{path}/executions", headers=project.headers, json=START)

    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "Flow is not active"
    assert "it is draft" in body["details"], body
    assert f"PATCH /flows/{flow['id']}" in body["details"]
