"""An execution's event log through the API: what happened, in order, with timings."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx

from builders import (
    ask_and_reply,
    create_active_flow,
    create_project,
    execution_events,
    resume,
    run_jobs,
    start_execution,
)
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState


async def test_event_log_of_a_whole_run(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution = await start_execution(client, project, flow_id)
    await run_jobs(resources)
    assert (await resume(client, project, execution["id"], {"input": "blue"})).status_code == 200
    await run_jobs(resources)

    events = await execution_events(client, project, execution["id"])
    assert [(e["kind"], e["node_id"]) for e in events] == [
        ("step_entered", "start"),
        ("step_left", "start"),
        ("step_entered", "ask"),
        ("message_queued", "ask"),
        ("step_left", "ask"),
        ("step_entered", "wait"),
        ("message_sent", "ask"),
        ("resumed", "wait"),
        ("step_left", "wait"),
        ("step_entered", "reply"),
        ("message_queued", "reply"),
        ("step_left", "reply"),
        ("execution_ended", "reply"),
        ("message_sent", "reply"),
    ]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    moments = [datetime.fromisoformat(e["at"]) for e in events]
    assert moments == sorted(moments)
    assert all(moment.utcoffset() is not None for moment in moments)

    # Durations are on step_left only, and measure the time spent in the step.
    entered = {}
    for event, moment in zip(events, moments, strict=True):
        if event["kind"] == "step_entered":
            entered[event["node_id"]] = moment
        if event["kind"] == "step_left":
            spent = (moment - entered[event["node_id"]]).total_seconds() * 1000
            assert isinstance(event["duration_ms"], int)
            assert abs(event["duration_ms"] - spent) <= 1, (event, spent)
        else:
            assert event["duration_ms"] is None, event

    by_kind = {(e["kind"], e["node_id"]): e["data"] for e in events}
    assert by_kind[("step_entered", "wait")] == {"step_type": "wait_for_response"}
    assert by_kind[("step_left", "wait")] == {"edge": "next"}
    assert by_kind[("message_queued", "ask")] == {"type": "text"}
    assert by_kind[("resumed", "wait")] == {"reason": "api"}
    sent_wamids = [by_kind[("message_sent", n)]["wamid"] for n in ("ask", "reply")]
    assert sent_wamids == [message.id for message in sandbox.outbox]


async def test_event_log_is_paginated(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution = await start_execution(client, project, flow_id)
    everything = await execution_events(client, project, execution["id"])
    assert len(everything) == 6

    path = f"/api/v1/flow_executions/{execution['id']}/events"
    pages = []
    for page in (1, 2):
        response = await client.get(
            path, headers=project.headers, params={"page": page, "per_page": 4}
        )
        assert response.status_code == 200
        assert response.json()["meta"] == {
            "page": page,
            "per_page": 4,
            "total_pages": 2,
            "total_count": 6,
        }
        pages.extend(response.json()["data"])
    assert pages == everything

    too_many = await client.get(path, headers=project.headers, params={"per_page": 501})
    assert too_many.status_code == 422
    unknown = await client.get(
        f"/api/v1/flow_executions/{uuid.uuid4()}/events", headers=project.headers
    )
    assert unknown.status_code == 404
