"""Every event delivered to a real receiver, signed over the raw bytes, in order."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select
from test_webhooks_crud import create_webhook

from builders import (
    create_project,
    default_config_id,
    delivery,
    inbound_text,
    post_webhook,
    run_jobs,
    send_api_message,
)
from threadline.kit.resources import Resources
from threadline.models import WebhookDelivery, WhatsappMessage
from threadline.whatsapp_webhooks import names
from threadline.whatsapp_webhooks.signing import verify
from whatsapp_webhooks.conftest import Receiver

SECRET = "whsec-test-1"
SENDER = "15550001111"


def _status(wamid: str, status: str, at: int, **extra: Any) -> dict[str, Any]:
    return {"id": wamid, "status": status, "timestamp": str(at), "recipient_id": SENDER, **extra}


def checked(receiver: Receiver) -> list[dict[str, Any]]:
    """The bodies received, each verified against its signature and headers."""
    bodies = []
    for got in receiver.received:
        assert verify(SECRET, got.body, got.headers["x-webhook-signature"]), got.body
        body = json.loads(got.body)
        assert got.headers["x-webhook-event"] == body["event"]
        assert got.headers["x-idempotency-key"] == body["event_id"]
        assert got.headers["x-tenant"] == "t1"
        bodies.append(body)
    return bodies


async def _wamids(resources: Resources) -> list[str]:
    async with resources.db.session() as session:
        rows = await session.execute(
            select(WhatsappMessage.wamid)
            .where(WhatsappMessage.direction == "outbound")
            .order_by(WhatsappMessage.id)
        )
        return [w for w in rows.scalars() if w]


async def test_every_event_is_delivered_signed_and_in_order(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    every = [
        names.CONVERSATION_CREATED,
        names.MESSAGE_RECEIVED,
        names.MESSAGE_SENT,
        names.MESSAGE_DELIVERED,
        names.MESSAGE_READ,
        names.MESSAGE_FAILED,
        names.CONVERSATION_ENDED,
    ]
    await create_webhook(
        client,
        project,
        config_id,
        url=receiver.url,
        secret_key=SECRET,
        events=every,
        headers={"X-Tenant": "t1"},
    )
    await post_webhook(client, delivery(messages=[inbound_text("wamid.IN1", "hi")]))
    await run_jobs(resources)
    conversation_id = checked(receiver)[0]["conversation"]["id"]
    for text in ("one", "two"):
        sent = await send_api_message(
            client, project, conversation_id, {"message_type": "text", "content": text}
        )
        assert sent.status_code in (200, 201, 202), sent.text
        await run_jobs(resources)
    first, second = await _wamids(resources)
    error = {"code": 131047, "title": "Re-engagement message", "message": "Re-engagement"}
    statuses = [
        _status(first, "delivered", 1_760_000_100),
        _status(first, "read", 1_760_000_200),
        _status(second, "failed", 1_760_000_300, errors=[error]),
    ]
    await post_webhook(client, delivery(statuses=statuses))
    await run_jobs(resources)
    ended = await client.patch(
        f"/api/v1/whatsapp_conversations/{conversation_id}",
        headers=project.headers,
        json={"whatsapp_conversation": {"status": "ended"}},
    )
    assert ended.status_code == 200, ended.text
    await run_jobs(resources)

    bodies = checked(receiver)
    assert [b["event"] for b in bodies] == [
        names.CONVERSATION_CREATED,
        names.MESSAGE_RECEIVED,
        names.MESSAGE_SENT,
        names.MESSAGE_SENT,
        names.MESSAGE_DELIVERED,
        names.MESSAGE_READ,
        names.MESSAGE_FAILED,
        names.CONVERSATION_ENDED,
    ]
    received = bodies[1]
    assert (
        received["message"]["text"] == {"body": "hi"} and received["message"]["id"] == "wamid.IN1"
    )
    assert received["message"]["kapso"]["direction"] == "inbound"
    assert received["is_new_conversation"] is True and received["phone_number_id"]
    assert bodies[4]["message"]["id"] == first and bodies[6]["message"]["id"] == second
    assert bodies[6]["message"]["kapso"]["error"]["code"] == 131047
    assert bodies[7]["conversation"]["status"] == "ended"
    assert len({b["event_id"] for b in bodies}) == len(bodies)
    async with resources.db.session() as session:
        logged = (await session.execute(select(WebhookDelivery))).scalars().all()
    assert {row.status for row in logged} == {"delivered"}
