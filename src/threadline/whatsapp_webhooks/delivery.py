"""One delivery's mechanics: its sealed request, its POST, what an answer records.

At least once: a delivery is recorded ``delivered`` only after a 2xx, in its job's own
transaction; a crash in between delivers it again, with the same ``X-Idempotency-Key``.
Failures (a non-2xx answer, a timeout, a refused destination) are retried with
exponential backoff and jitter (``THREADLINE_WEBHOOK_RETRY_*``) until
``THREADLINE_WEBHOOK_MAX_ATTEMPTS``, then recorded ``failed``; the job is finished
either way, so the conversation's next deliveries go on. ``dispatch`` runs a batch
of deliveries with these.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.kit.clock import utcnow
from threadline.kit.egress import EgressRefused
from threadline.models import WebhookDelivery, WhatsappWebhook
from threadline.whatsapp_webhooks import events
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


def outgoing(row: WebhookDelivery, webhook: WhatsappWebhook, secret: str) -> Outgoing:
    """The request for a sealed delivery: the webhook's headers, then the signed ones."""
    body = row.body.encode()
    headers = dict(webhook.headers or {}) | _headers(row, secret, body)
    return Outgoing(row.id, webhook.url, headers, body)


def deliverable(row: WebhookDelivery | None) -> bool:
    """Whether a delivery still has to go (not settled, not inside another batch)."""
    return row is not None and row.status not in FINAL and row.status != "batched"


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


def seal(batch: WebhookDelivery, items: list[WebhookDelivery]) -> None:
    """The batch's window ended: its body is its events', in order (one alone goes as is)."""
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


def attempt(
    row: WebhookDelivery, answer: Answer, settings: Settings, now: datetime
) -> tuple[dict[str, Any], float | None]:
    """What an attempt writes (``repository.record_attempts``'s keys), and the delay
    before the next one, or None if the delivery is settled (delivered, or given up)."""
    attempts, delay = row.attempts + 1, None
    status, delivered_at = row.status, row.delivered_at
    if answer.ok:
        status, delivered_at = "delivered", now
    elif attempts >= settings.webhook_max_attempts:
        status = "failed"
    else:
        delay = backoff(settings, attempts)
    values = {
        "b_id": row.id,
        "b_status": status,
        "b_attempts": attempts,
        "b_response_status": answer.status,
        "b_last_error": answer.error,
        "b_updated_at": now,
        "b_delivered_at": delivered_at,
    }
    return values, delay


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
