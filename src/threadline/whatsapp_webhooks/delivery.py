"""Delivering one outbox row: read and seal it, POST it (no session held), record it.

At least once: a delivery is recorded ``delivered`` only after a 2xx, in the job's own
transaction; a crash in between delivers it again, with the same ``X-Idempotency-Key``.
Failures (a non-2xx answer, a timeout, a refused destination) are retried with
exponential backoff and jitter (``THREADLINE_WEBHOOK_RETRY_*``) until
``THREADLINE_WEBHOOK_MAX_ATTEMPTS``, then recorded ``failed``; the job is finished
either way, so the conversation's next deliveries go on.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.kit.egress import EgressRefused
from threadline.models import WebhookDelivery
from threadline.whatsapp_webhooks import events, repository
from threadline.whatsapp_webhooks.signing import SIGNATURE_HEADER, sign

FINAL = ("delivered", "failed")
#: How much of a refusing answer's body the log keeps.
ERROR_BYTES = 500


@dataclass(frozen=True)
class Outgoing:
    """A sealed delivery, ready to POST."""

    delivery_id: int
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, or an error."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


async def prepare(session: AsyncSession, cipher: Cipher, delivery_id: int) -> Outgoing | None:
    """The request for a delivery (a batch sealed first); None if there is nothing to do."""
    row = await repository.lock_delivery(session, delivery_id)
    if row is None or row.status in FINAL or row.status == "batched":
        return None
    webhook = await repository.by_id(session, row.webhook_id)
    if webhook is None:
        return None
    if row.status == "buffering":
        await _seal(session, row)
    body = row.body.encode()
    headers = dict(webhook.headers or {}) | _headers(
        row, cipher.decrypt(webhook.secret_encrypted), body
    )
    return Outgoing(row.id, webhook.url, headers, body)


def _headers(row: WebhookDelivery, secret: str, body: bytes) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Event": row.event,
        SIGNATURE_HEADER: sign(secret, body),
        "X-Idempotency-Key": row.event_id,
        "X-Webhook-Payload-Version": "v2",
    }
    if row.batch_size > 1:
        headers |= {"X-Webhook-Batch": "true", "X-Batch-Size": str(row.batch_size)}
    return headers


async def _seal(session: AsyncSession, batch: WebhookDelivery) -> None:
    """The batch's window ended: its body is its events', in order (one alone goes as is)."""
    items = await events.batch_items(session, batch.id)
    if len(items) == 1:
        batch.body, batch.event_id = items[0].body, items[0].event_id
    else:
        batch.body = events.encode(
            {
                "event": batch.event,
                "event_id": batch.event_id,
                "occurred_at": batch.created_at.isoformat(),
                "batch": True,
                "batch_size": len(items),
                "data": [json.loads(item.body) for item in items],
            }
        )
    batch.batch_size, batch.status, batch.updated_at = len(items), "pending", utcnow()


async def post(http: httpx.AsyncClient, outgoing: Outgoing, timeout: float) -> Answer:
    """POST the exact body (through the egress-checked client)."""
    try:
        async with http.stream(
            "POST", outgoing.url, content=outgoing.body, headers=outgoing.headers, timeout=timeout
        ) as response:
            if response.is_success:
                return Answer(response.status_code, None)
            return Answer(response.status_code, await _start_of(response))
    except EgressRefused as refused:
        return Answer(None, str(refused))
    except httpx.HTTPError as error:
        return Answer(None, f"{type(error).__name__}: {error}")


async def _start_of(response: httpx.Response) -> str:
    """The first bytes of a refusal's body, for the log (never the whole of a huge one)."""
    head = b""
    async for chunk in response.aiter_raw():
        head += chunk
        if len(head) >= ERROR_BYTES:
            break
    return head[:ERROR_BYTES].decode(errors="replace")


async def record(
    session: AsyncSession, settings: Settings, delivery_id: int, answer: Answer
) -> float | None:
    """Record an attempt; the delay before the next one, or None if the delivery is settled."""
    row = await repository.lock_delivery(session, delivery_id)
    if row is None:
        return None
    now = utcnow()
    row.attempts += 1
    row.response_status, row.last_error, row.updated_at = answer.status, answer.error, now
    if answer.ok:
        row.status, row.delivered_at = "delivered", now
        return None
    if row.attempts >= settings.webhook_max_attempts:
        row.status = "failed"
        return None
    return backoff(settings, row.attempts)


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt: doubling from the base, capped, with ±20% jitter."""
    raw: float = min(
        settings.webhook_retry_max_seconds,
        settings.webhook_retry_base_seconds * 2.0 ** (attempts - 1),
    )
    return raw * random.uniform(0.8, 1.2)


async def redeliver(session: AsyncSession, row: WebhookDelivery, now: datetime) -> None:
    """Send a failed (or delivered) delivery again, with a fresh count of attempts."""
    row.status, row.attempts, row.updated_at = "pending", 0, now
    row.last_error = None
    await events.enqueue_delivery(session, row)
