"""Message and control nodes, run through the API and the worker against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from builders import (
    chain,
    create_active_flow,
    create_project,
    edge,
    execution_events,
    fire_wait_timers,
    get_execution,
    node,
    resume,
    run_flow,
    run_jobs,
    start_execution,
)
from threadline.conversations.service import EXPIRE_TASK
from threadline.kit.resources import Resources
from threadline.models import Job
from threadline.sandbox.state import SandboxState

PHONE = "+15550001111"


def _sent(sandbox: SandboxState) -> list[dict[str, Any]]:
    """What reached the sandbox, without Threadline's callback marker."""
    payloads = []
    for message in sandbox.outbox:
        payload = dict(message.payload)
        assert payload.pop("biz_opaque_callback_data").startswith("tl:")
        payloads.append(payload)
    return payloads


def _texts(sandbox: SandboxState) -> list[str]:
    return [p["text"]["body"] for p in _sent(sandbox) if p["type"] == "text"]


async def test_send_text_interpolates_vars_context_system_and_last_input(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(
        client,
        project,
        chain(
            node("start", "start"),
            node("hello", "send_text", message="Hello {{vars.name}}, reply please"),
            node("wait", "wait_for_response"),
            node(
                "say",
                "send_text",
                message=(
                    "Hi {{vars.name}} from {{context.source}} ({{system.phone_number}}): "
                    "you said {{last_user_input}}; [{{vars.missing}}] {{ vars.count }} {{1}}"
                ),
            ),
        ),
    )
    execution = await start_execution(
        client, project, flow_id, variables={"name": "Ada", "count": 3}
    )
    # ``context`` is not a start_execution() argument: post it directly.
    with_context = await client.post(
        f"/api/v1/flows/{flow_id}/executions",
        headers=project.headers,
        json={
            "phone_number": "+15550002222",
            "variables": {"name": "Bo"},
            "context": {"source": "app"},
        },
    )
    assert with_context.status_code == 202
    await run_jobs(resources)
    assert (await resume(client, project, execution["id"], {"input": "blue"})).status_code == 200
    await run_jobs(resources)

    assert sorted(_texts(sandbox)) == [
        "Hello Ada, reply please",
        "Hello Bo, reply please",
        f"Hi Ada from  ({PHONE}): you said blue; [] 3 {{{{1}}}}",
    ]
    assert {p["to"] for p in _sent(sandbox)} == {PHONE, "+15550002222"}
    listing = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=project.headers)
    bo = next(e for e in listing.json()["data"] if e["phone_number"] == "+15550002222")
    assert (await resume(client, project, bo["id"], {"input": "red"})).status_code == 200
    await run_jobs(resources)
    assert _texts(sandbox)[-1] == ("Hi Bo from app (+15550002222): you said red; []  {{1}}")


async def test_send_interactive_buttons_reach_the_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    menu = node(
        "menu",
        "send_interactive",
        interactive_type="button",
        header_text="Menu for {{vars.name}}",
        body_text="Pick one, {{vars.name}}",
        footer_text="Reply below",
        buttons=[{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No {{vars.word}}"}],
    )
    execution = await run_flow(
        client,
        resources,
        project,
        chain(node("start", "start"), menu),
        variables={"name": "Ada", "word": "way"},
    )
    assert execution["status"] == "ended"
    assert _sent(sandbox) == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": PHONE,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Menu for Ada"},
                "body": {"text": "Pick one, Ada"},
                "footer": {"text": "Reply below"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "no", "title": "No way"}},
                    ]
                },
            },
        }
    ]


async def test_send_interactive_list_reaches_the_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    menu = node(
        "sizes",
        "send_interactive",
        interactive_type="list",
        body_text="Choose a size",
        list_button_text="Sizes",
        list_sections=[
            {
                "title": "Small",
                "rows": [{"id": "s", "title": "Small {{vars.unit}}", "description": "For one"}],
            },
            {"title": "Big", "rows": [{"id": "l", "title": "Large"}]},
        ],
    )
    execution = await run_flow(
        client, resources, project, chain(node("start", "start"), menu), variables={"unit": "cup"}
    )
    assert execution["status"] == "ended"
    assert _sent(sandbox) == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": PHONE,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Choose a size"},
                "action": {
                    "button": "Sizes",
                    "sections": [
                        {
                            "title": "Small",
                            "rows": [{"id": "s", "title": "Small cup", "description": "For one"}],
                        },
                        {"title": "Big", "rows": [{"id": "l", "title": "Large"}]},
                    ],
                },
            },
        }
    ]


async def test_send_template_reaches_the_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    template = node(
        "update",
        "send_template",
        template_name="order_update",
        language="en_US",
        parameters=["{{vars.name}}", "{{vars.order}}"],
    )
    execution = await run_flow(
        client,
        resources,
        project,
        chain(node("start", "start"), template),
        variables={"name": "Ana", "order": "A-1001"},
    )
    assert execution["status"] == "ended"
    assert _sent(sandbox) == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": PHONE,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ana"},
                            {"type": "text", "text": "A-1001"},
                        ],
                    }
                ],
            },
        }
    ]
    kinds = [e["kind"] for e in await execution_events(client, project, execution["id"])]
    assert "message_sent" in kinds


async def test_a_template_whatsapp_refuses_fails_the_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    template = node(
        "update",
        "send_template",
        template_name="order_update",
        language="en_US",
        parameters=["only one"],
    )
    execution = await run_flow(client, resources, project, chain(node("start", "start"), template))
    assert sandbox.outbox == []
    assert execution["status"] == "failed"
    assert execution["error"]["code"] == 132000
    assert "Number of parameters" in execution["error"]["message"]
    kinds = [e["kind"] for e in await execution_events(client, project, execution["id"])]
    assert "message_failed" in kinds and "message_sent" not in kinds


async def test_set_variable_assigns_rendered_and_typed_values(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node(
            "set",
            "set_variable",
            variables={
                "greeting": "Hello {{vars.name}}",
                "count": 3,
                "items_copy": "{{vars.items}}",
                "nested": {"who": "{{vars.name}}", "first": "{{vars.items[0]}}"},
                "missing": "{{vars.nope}}",
                "name": "{{vars.name}} Lovelace",
            },
        ),
        node("single", "set_variable", variable="tier", value="gold"),
        node("say", "send_text", message="{{vars.greeting}} x{{vars.count}} {{vars.tier}}"),
    )
    execution = await run_flow(
        client, resources, project, definition, variables={"name": "Ada", "items": [1, 2]}
    )
    assert execution["status"] == "ended"
    assert execution["variables"] == {
        "name": "Ada Lovelace",
        "items": [1, 2],
        "greeting": "Hello Ada",
        "count": 3,
        "items_copy": [1, 2],
        "nested": {"who": "Ada", "first": 1},
        "missing": None,
        "tier": "gold",
    }
    assert _texts(sandbox) == ["Hello Ada x3 gold"]
    events = await execution_events(client, project, execution["id"])
    assert {"kind": "variables_set", "node_id": "single"}.items() <= next(
        e for e in events if e["kind"] == "variables_set" and e["node_id"] == "single"
    ).items()


async def test_handoff_waits_until_the_api_resumes_it(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node("human", "handoff"),
        node("back", "send_text", message="Back with you, {{last_user_input}}"),
    )
    execution = await run_flow(client, resources, project, definition)
    assert (execution["status"], execution["wait_reason"]) == ("waiting", "handoff")
    assert execution["current_step"]["step_type"] == "handoff"
    assert execution["wait_until"] is None

    # No timer moves a handoff on: it has none, and nothing else wakes it (the one job
    # left is the conversation's inactivity timer, which ends the conversation only).
    async with resources.db.session() as session:
        left = (await session.execute(select(Job.task))).scalars().all()
    assert left == [EXPIRE_TASK]
    await fire_wait_timers(resources)
    still = await get_execution(client, project, execution["id"])
    assert (still["status"], still["wait_reason"]) == ("waiting", "handoff")
    assert sandbox.outbox == []

    resumed = await resume(client, project, execution["id"], {"input": "agent"})
    assert resumed.status_code == 200
    assert resumed.json()["data"]["status"] == "ended"
    await run_jobs(resources)
    final = await get_execution(client, project, execution["id"])
    assert final["status"] == "ended"
    assert _texts(sandbox) == ["Back with you, "]


async def test_wait_for_response_saves_the_answer(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(
        client,
        project,
        chain(
            node("start", "start"),
            node("wait", "wait_for_response", save_response_to="answer"),
            node("echo", "send_text", message="Got {{vars.answer}} / {{last_user_input}}"),
        ),
    )
    typed = await start_execution(client, project, flow_id, phone="+15550000001")
    tapped = await start_execution(client, project, flow_id, phone="+15550000002")
    assert typed["wait_reason"] == "user_input"
    message = {"button_id": "confirm", "extra": {"n": 1}}
    assert (await resume(client, project, typed["id"], {"input": "42"})).status_code == 200
    assert (await resume(client, project, tapped["id"], {"message": message})).status_code == 200
    await run_jobs(resources)

    assert (await get_execution(client, project, typed["id"]))["variables"] == {"answer": "42"}
    assert (await get_execution(client, project, tapped["id"]))["variables"] == {"answer": message}
    assert "Got 42 / 42" in _texts(sandbox)
    # A structured answer renders as compact JSON (PostgreSQL's JSONB may reorder its keys).
    rendered = next(t for t in _texts(sandbox) if t != "Got 42 / 42")
    saved, last = rendered.removeprefix("Got ").split(" / ")
    assert json.loads(saved) == json.loads(last) == message
    assert ", " not in saved


async def test_wait_for_response_timeout_takes_the_timeout_edge(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = {
        "nodes": [
            node("start", "start"),
            node("wait", "wait_for_response", timeout_seconds=60, save_response_to="answer"),
            node("thanks", "send_text", message="Thanks"),
            node("nudge", "send_text", message="Still there?"),
        ],
        "edges": [
            edge("start", "wait"),
            edge("wait", "thanks"),
            edge("wait", "nudge", "timeout"),
        ],
    }
    flow_id = await create_active_flow(client, project, definition)
    silent = await start_execution(client, project, flow_id, phone="+15550000001")
    answered = await start_execution(client, project, flow_id, phone="+15550000002")
    assert silent["wait_until"] is not None
    assert (await resume(client, project, answered["id"], {"input": "hi"})).status_code == 200
    await run_jobs(resources)
    assert (await get_execution(client, project, silent["id"]))["status"] == "waiting"

    await fire_wait_timers(resources)
    timed_out = await get_execution(client, project, silent["id"])
    assert timed_out["status"] == "ended"
    assert "answer" not in timed_out["variables"]
    by_phone = {p["to"]: p["text"]["body"] for p in _sent(sandbox)}
    assert by_phone == {"+15550000001": "Still there?", "+15550000002": "Thanks"}
    # The answered one's timer was cancelled, so it did not run twice.
    assert (await get_execution(client, project, answered["id"]))["variables"] == {"answer": "hi"}
    assert len(sandbox.outbox) == 2
