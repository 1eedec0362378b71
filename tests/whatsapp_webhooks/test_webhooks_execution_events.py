"""A message WhatsApp refuses fails its execution: both facts reach the webhook."""

from __future__ import annotations

import json

import httpx
from test_webhooks_crud import create_webhook

from builders import (
    ask_and_reply,
    create_active_flow,
    create_project,
    default_config_id,
    run_jobs,
    start_execution,
)
from threadline.kit.resources import Resources
from threadline.sandbox.state import FailureRule, SandboxState
from threadline.whatsapp_webhooks import names
from whatsapp_webhooks.conftest import Receiver


async def test_a_refused_send_tells_message_failed_then_execution_failed(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    receiver: Receiver,
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    events = [names.MESSAGE_FAILED, names.EXECUTION_FAILED]
    await create_webhook(client, project, config_id, url=receiver.url, events=events)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    sandbox.failures.append(FailureRule(remaining=1, code=131026, http_status=400))
    started = await start_execution(client, project, flow_id)
    await run_jobs(resources)

    bodies = [json.loads(body) for body in receiver.bodies()]
    assert [b["event"] for b in bodies] == events
    assert bodies[0]["message"]["kapso"]["error"]["code"] == 131026
    execution = bodies[1]["flow_execution"]
    assert execution["id"] == started["id"] and execution["status"] == "failed"
    assert bodies[1]["whatsapp_conversation_id"] == bodies[0]["conversation"]["id"]


async def test_a_handoff_is_told_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    from builders import chain, delivery, inbound_text, node, post_webhook

    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    await create_webhook(
        client, project, config_id, url=receiver.url, events=[names.EXECUTION_HANDOFF]
    )
    flow = chain(node("start", "start"), node("human", "handoff"))
    flow_id = await create_active_flow(client, project, flow)
    started = await start_execution(client, project, flow_id, phone="+15550001111")
    await run_jobs(resources)
    await post_webhook(client, delivery(messages=[inbound_text("wamid.H", "anyone there?")]))
    await run_jobs(resources)

    (told,) = [json.loads(body) for body in receiver.bodies()]
    assert told["event"] == names.EXECUTION_HANDOFF
    assert told["flow_execution"]["id"] == started["id"]
    assert told["flow_execution"]["status"] == "waiting"
    assert told["flow_execution"]["wait_reason"] == "handoff"
