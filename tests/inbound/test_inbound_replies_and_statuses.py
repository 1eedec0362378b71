"""Replies to API-started runs, handoffs, and the statuses Meta reports for sent messages."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from builders import (
    ask_and_reply,
    chain,
    create_active_flow,
    create_project,
    delivery,
    get_execution,
    inbound_text,
    node,
    post_webhook,
    run_jobs,
    start_execution,
)
from threadline.kit.resources import Resources
from threadline.models import MessageStatusEvent, WhatsappMessage
from threadline.sandbox.state import SandboxState

PHONE = "+15550001111"


async def _rows(resources: Resources, model: type[Any]) -> list[Any]:
    async with resources.db.session() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


def _status(wamid: str, status: str, at: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": wamid,
        "status": status,
        "timestamp": str(at),
        "recipient_id": PHONE.lstrip("+"),
        **extra,
    }


async def test_the_users_reply_resumes_an_api_started_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    started = await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)

    await post_webhook(client, delivery(messages=[inbound_text("wamid.R", "blue")]))
    await run_jobs(resources)

    shown = await get_execution(client, project, started["id"])
    assert shown["status"] == "ended"
    assert [e.payload["text"]["body"] for e in sandbox.outbox] == ["Question?", "You said blue"]


async def test_a_handoff_keeps_the_execution_parked_and_the_message_for_a_person(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = chain(node("start", "start"), node("human", "handoff"))
    flow_id = await create_active_flow(client, project, flow)
    started = await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)

    await post_webhook(client, delivery(messages=[inbound_text("wamid.H", "anyone there?")]))
    await run_jobs(resources)

    shown = await get_execution(client, project, started["id"])
    assert shown["status"] == "waiting"
    (message,) = [m for m in await _rows(resources, WhatsappMessage) if m.direction == "inbound"]
    assert message.processing_status == "handoff"
    assert str(message.execution_id) == started["id"]


async def test_statuses_move_forward_only_and_one_that_comes_first_is_kept(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)
    (sent,) = await _rows(resources, WhatsappMessage)
    assert sent.wamid is not None

    early = _status("wamid.NOT-YET", "delivered", 100)
    statuses = [_status(sent.wamid, "read", 200), _status(sent.wamid, "delivered", 150), early]
    await post_webhook(client, delivery(statuses=statuses))
    await post_webhook(client, delivery(statuses=[_status(sent.wamid, "read", 200)]))  # again
    await run_jobs(resources)

    (message,) = await _rows(resources, WhatsappMessage)
    assert message.status == "read"  # the late "delivered" did not win
    assert message.delivered_at is not None and message.read_at is not None
    events = await _rows(resources, MessageStatusEvent)
    assert sorted((e.wamid, e.status) for e in events) == sorted(
        [(sent.wamid, "read"), (sent.wamid, "delivered"), ("wamid.NOT-YET", "delivered")]
    )
    pending = [e for e in events if e.wamid == "wamid.NOT-YET"]
    assert pending[0].applied_at is None  # kept until a message gets that wamid


async def test_a_failed_status_after_the_send_is_final_and_logged_on_the_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    started = await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)
    (sent,) = await _rows(resources, WhatsappMessage)
    error = {"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}
    failed = _status(sent.wamid, "failed", 120, errors=[error])
    await post_webhook(client, delivery(statuses=[failed, _status(sent.wamid, "read", 130)]))
    await run_jobs(resources)

    (message,) = await _rows(resources, WhatsappMessage)
    assert message.status == "failed"
    assert message.last_error is not None and message.last_error["code"] == 131047
    events = await client.get(
        f"/api/v1/flow_executions/{started['id']}/events", headers=project.headers
    )
    logged = [e for e in events.json()["data"] if e["kind"] == "message_failed_after_send"]
    assert len(logged) == 1
    assert logged[0]["data"]["error"]["code"] == 131047
    assert logged[0]["data"]["wamid"] == sent.wamid


async def test_a_message_received_before_an_api_started_run_does_not_answer_it(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """The user's "hi" is stored, the API starts a run before the inbox gets to it."""
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    await post_webhook(client, delivery(messages=[inbound_text("wamid.HI", "hi")]))
    started = await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)

    shown = await get_execution(client, project, started["id"])
    assert shown["status"] == "waiting"  # "hi" did not answer "Question?"
    (hi,) = [m for m in await _rows(resources, WhatsappMessage) if m.direction == "inbound"]
    assert hi.processing_status == "skipped"

    await post_webhook(
        client, delivery(messages=[inbound_text("wamid.R", "blue", at=1_760_000_500)])
    )
    await run_jobs(resources)
    assert (await get_execution(client, project, started["id"]))["status"] == "ended"
    assert [e.payload["text"]["body"] for e in sandbox.outbox] == ["Question?", "You said blue"]


async def test_a_reply_after_the_conversation_expired_still_resumes_the_waiting_run(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """A wait longer than the inactivity period: the reply opens a new conversation."""
    from datetime import timedelta

    from threadline.conversations import service as conversations
    from threadline.kit.clock import utcnow
    from threadline.models import WhatsappConversation

    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply(timeout_seconds=7 * 86_400))
    started = await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)
    async with resources.db.transaction() as session:  # the inactivity timer fired
        (old,) = (await session.execute(select(WhatsappConversation))).scalars()
        conversations.end(old, "inactivity", utcnow() - timedelta(seconds=1))

    await post_webhook(client, delivery(messages=[inbound_text("wamid.LATE", "blue")]))
    await run_jobs(resources)

    assert (await get_execution(client, project, started["id"]))["status"] == "ended"
    assert [e.payload["text"]["body"] for e in sandbox.outbox] == ["Question?", "You said blue"]
    async with resources.db.session() as session:
        rows = list((await session.execute(select(WhatsappConversation))).scalars())
    assert sorted(c.status for c in rows) == ["active", "ended"]
