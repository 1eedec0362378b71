"""Calls and call permissions, recorded from Meta's webhooks and read through the API.

The sandbox places the call (its ``connect`` and ``terminate`` webhooks) and plays the
phone answering a permission request, over real HTTP to a live server; the ordering
cases post the deliveries by hand.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from builders import (
    TestProject,
    add_inbound_trigger,
    ask_and_reply,
    call_event,
    create_active_flow,
    create_project,
    default_config_id,
    delivery,
    post_webhook,
    run_jobs,
)
from contract.test_contract_kapso_v1 import assert_matches, load_spec
from support import eventually
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage

PHONE = "15550008888"
SPEC = "openapi-whatsapp.yaml"


async def _calls(client: httpx.AsyncClient, project: TestProject, **params: Any) -> httpx.Response:
    return await client.get("/api/v1/whatsapp_calls", params=params, headers=project.headers)


async def test_a_call_from_the_sandbox_is_recorded_and_listed(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
) -> None:
    spec = load_spec(SPEC)
    project = await create_project(resources, sandbox_url)
    placed = await control.post("/calls", json={"from": PHONE, "duration_seconds": 42})
    placed.raise_for_status()

    async def ended() -> dict[str, Any] | None:
        listed = (await _calls(client, project)).json()["data"]
        return listed[0] if listed and listed[0]["status"] == "completed" else None

    call = await eventually(ended, timeout=15, what="the call, completed")
    assert call["call_id"] == placed.json()["call_id"] and call["direction"] == "inbound"
    assert call["duration_seconds"] == 42 and call["user_wa_id"] == PHONE
    assert call["session_started_at"] and call["started_at"] and call["ended_at"]
    assert call["whatsapp_contact_id"] is not None
    listed = await _calls(client, project)
    assert_matches(spec, "/whatsapp_calls", "get", 200, listed.json())
    one = await client.get(f"/api/v1/whatsapp_calls/{call['id']}", headers=project.headers)
    assert_matches(spec, "/whatsapp_calls/{id}", "get", 200, one.json())
    assert one.json()["data"] == call

    assert (await _calls(client, project, direction="outbound")).json()["data"] == []
    assert (
        len((await _calls(client, project, status="completed", period="today")).json()["data"]) == 1
    )
    other = await create_project(resources, sandbox_url, name="Other")
    hidden = await client.get(f"/api/v1/whatsapp_calls/{call['id']}", headers=other.headers)
    assert hidden.status_code == 404 and hidden.json()["error"] == "Call not found"


async def test_call_events_late_or_twice_leave_one_call_that_stays_ended(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    end = call_event(
        "wacid.A",
        "terminate",
        at=1_760_000_090,
        status="FAILED",
        start_time="1760000000",
        end_time="1760000090",
        duration=90,
    )
    start = call_event("wacid.A", "connect", at=1_760_000_000)

    for event in (end, start, end, start):
        answer = await post_webhook(client, delivery(calls=[event], profile_name="Cal"))
        assert answer.status_code == 200, answer.text
    await run_jobs(resources)

    (call,) = (await _calls(client, project)).json()["data"]
    assert call["status"] == "failed" and call["duration_seconds"] == 90
    assert call["session_started_at"] == "2025-10-09T08:53:20Z"
    contact = await client.get(
        f"/api/v1/whatsapp_contacts/+{call['user_wa_id']}", headers=project.headers
    )
    assert contact.json()["data"]["profile_name"] == "Cal"


async def test_a_malformed_call_event_is_an_error_of_its_delivery_only(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    bad = {"id": "wacid.B", "event": "connect", "from": "not-a-phone", "to": "1"}
    good = call_event("wacid.C", "connect")

    answer = await post_webhook(client, delivery(calls=[good, bad]))

    assert answer.status_code == 200, answer.text
    (call,) = (await _calls(client, project)).json()["data"]
    assert call["call_id"] == "wacid.C" and call["status"] == "ringing"


async def test_a_permission_answer_is_recorded_and_starts_no_flow(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
) -> None:
    spec = load_spec(SPEC)
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    await add_inbound_trigger(client, project, flow_id)
    config_id = await default_config_id(resources, project)
    path = f"/api/v1/whatsapp_contacts/+{PHONE}/call_permissions"

    (await control.post("/call_permission", json={"from": PHONE})).raise_for_status()

    async def answered() -> list[dict[str, Any]] | None:
        found = await client.get(path, headers=project.headers)
        data: list[dict[str, Any]] = found.json().get("data") or []
        return data or None

    (permission,) = await eventually(answered, timeout=15, what="the call permission")
    assert permission["status"] == "accepted" and permission["allowed"] is True
    assert permission["expires_at"] and permission["source"] == "user_action"
    assert_matches(
        spec,
        "/whatsapp_contacts/{identifier}/call_permissions",
        "get",
        200,
        (await client.get(path, headers=project.headers)).json(),
    )
    one = await client.get(f"{path}/{config_id}", headers=project.headers)
    assert_matches(
        spec,
        "/whatsapp_contacts/{identifier}/call_permissions/{whatsapp_config_id}",
        "get",
        200,
        one.json(),
    )
    async with resources.db.session() as session:
        (answer,) = (await session.execute(select(WhatsappMessage))).scalars()
    assert answer.processing_status == "skipped", "an answer to a permission request is no turn"
    executions = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=project.headers)
    assert executions.json()["data"] == []

    (
        await control.post("/call_permission", json={"from": PHONE, "response": "reject"})
    ).raise_for_status()

    async def rejected() -> dict[str, Any] | None:
        shown = (await client.get(f"{path}/{config_id}", headers=project.headers)).json()["data"]
        return shown if shown["status"] == "rejected" else None

    shown = await eventually(rejected, timeout=15, what="the rejection")
    assert shown["allowed"] is False and shown["expires_at"] is None
    other = await client.get(
        f"{path}/00000000-0000-0000-0000-000000000000", headers=project.headers
    )
    assert other.status_code == 404 and other.json()["error"] == "Call permission not found"
