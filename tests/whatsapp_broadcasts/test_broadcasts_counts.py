"""A broadcast's counts follow Meta's statuses and the recipients' replies, and throttled
sends slow the sender down and are retried by the outbox (each recipient sent once)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from builders import (
    TestProject,
    create_broadcast,
    create_project,
    delivery,
    inbound_text,
    post_webhook,
    run_jobs,
)
from threadline.kit.resources import Resources
from threadline.models import WhatsappBroadcast
from threadline.sandbox.state import FailureRule, SandboxState
from threadline.whatsapp_broadcasts.pacing import RECOVER_SECONDS, Pace

API = "/api/v1/whatsapp_broadcasts"


async def _get(client: httpx.AsyncClient, project: TestProject, broadcast_id: str) -> Any:
    response = await client.get(f"{API}/{broadcast_id}", headers=project.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _status(wamid: str, status: str, to: str) -> dict[str, Any]:
    return {"id": wamid, "status": status, "timestamp": "1760000100", "recipient_id": to}


async def _sent(
    client: httpx.AsyncClient, resources: Resources, project: TestProject, count: int
) -> dict[str, Any]:
    draft = await create_broadcast(client, resources, project, recipients=count, rate_per_second=0)
    sent = await client.post(f"{API}/{draft['id']}/send", headers=project.headers)
    assert sent.status_code == 202, sent.text
    await run_jobs(resources)
    return draft


async def test_statuses_and_replies_move_the_counts(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await _sent(client, resources, project, 3)
    wamids = {entry.wa_id: entry.id for entry in sandbox.outbox}
    first, second, _ = sorted(wamids)
    statuses = [
        _status(wamids[first], "delivered", first),
        _status(wamids[first], "read", first),
        _status(wamids[second], "delivered", second),
    ]
    await post_webhook(client, delivery(statuses=statuses))
    replies = [inbound_text("wamid.re.1", "yes!", sender=first)]
    replies.append(inbound_text("wamid.re.2", "who?", sender="15559990000"))  # not a recipient
    await post_webhook(client, delivery(messages=replies))
    await run_jobs(resources)

    shown = await _get(client, project, draft["id"])
    assert shown["stats"] == {
        "total": 3, "sent": 3, "failed": 0, "delivered": 2, "read": 1, "responded": 1,
        "pending": 0,
    }  # fmt: skip
    assert shown["response_rate"] == 33.3 and shown["delivered_count"] == 2
    listed = await client.get(f"{API}/{draft['id']}/recipients", headers=project.headers)
    rows = {row["phone_number"]: row for row in listed.json()["data"]}
    assert rows[first]["read_at"] and rows[first]["responded_at"]
    assert rows[second]["delivered_at"] and rows[second]["read_at"] is None


async def test_throttled_sends_slow_the_sender_and_are_retried_once_each(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    sandbox.failures.append(FailureRule(remaining=2, code=130429, http_status=400))
    sandbox.failures.append(FailureRule(remaining=1, code=131056, http_status=400))

    draft = await _sent(client, resources, project, 6)

    numbers = sorted(entry.wa_id for entry in sandbox.outbox)
    assert numbers == sorted(set(numbers)) and len(numbers) == 6
    async with resources.db.session() as session:
        row = await session.scalar(
            select(WhatsappBroadcast).where(WhatsappBroadcast.id == uuid.UUID(draft["id"]))
        )
    assert row is not None and row.throttle_count == 3 and row.throttled_at is not None
    assert (await _get(client, project, draft["id"]))["status"] == "completed"


def test_the_pace_halves_on_throttling_and_recovers_gradually() -> None:
    pace = Pace(80.0, started=0.0)
    assert pace.take(1.0) == 40  # half a second's worth at most: no long burst
    assert pace.take(1.1) == 8
    pace.throttled(1.1)
    pace.throttled(1.1)
    assert pace.current == 20.0
    assert pace.take(1.6) == 10  # 20/s for 0.5 s
    pace.take(1.1 + RECOVER_SECONDS)
    assert pace.current == 25.0
    pace.take(1.1 + 20 * RECOVER_SECONDS)
    assert pace.current == 80.0
    assert Pace(None, started=0.0).take(5.0) > 100  # unlimited: a whole batch each tick
