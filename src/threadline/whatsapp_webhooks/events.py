"""Emitting events: an outbox row per (webhook, event), written in the fact's transaction.

Why one row per (webhook, event) and not one event row fanned out later by a job: a
config has few webhooks, so the fan-out is a handful of rows; each row is at once the
outbox entry, the delivery's log line (attempts, last answer) and the unit a failed
delivery is redelivered by, and its job exists iff the fact committed. A fan-out job
would add a hop of latency and a second place where ordering could break.

Hot paths stay lean: the config's active webhooks are cached per process (a few
seconds, emptied by this process's writes; see ``whatsapp_configs/cache.py`` for the
same trade-off), so a config with no webhooks costs no query per event.

Ordering: every job of one (webhook, conversation) shares a ``lock_key``, and the queue
runs same-key jobs one at a time in enqueue order, a retrying one blocking those
behind it. A buffered ``whatsapp.message.received`` joins the conversation's open
batch (a delivery row in ``buffering``, whose job was enqueued when the batch opened
and runs when its window ends, or at once when it is full).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.models import WebhookDelivery, WhatsappWebhook
from threadline.whatsapp_configs import cache as config_cache
from threadline.whatsapp_configs.cache import ConfigCache
from threadline.whatsapp_webhooks import repository

DELIVER_TASK = "whatsapp_webhooks.deliver"

#: The config's active webhooks, as read-only copies.
subscriptions = ConfigCache()


@dataclass(frozen=True)
class Subscriber:
    """What emitting needs of a webhook (a copy, safe to share between sessions)."""

    id: uuid.UUID
    project_id: uuid.UUID
    events: frozenset[str]
    buffered: frozenset[str]
    window_seconds: int
    max_batch: int
    inactivity_minutes: int


@dataclass(frozen=True)
class Event:
    """A fact of a config's, to deliver to the webhooks subscribed to ``name``."""

    name: str
    project_id: uuid.UUID
    config_id: uuid.UUID
    conversation_id: uuid.UUID | None
    data: dict[str, Any]


def _subscriber(webhook: WhatsappWebhook) -> Subscriber:
    buffered = frozenset(webhook.buffer_events) if webhook.buffer_enabled else frozenset()
    return Subscriber(
        webhook.id,
        webhook.project_id,
        frozenset(webhook.events),
        buffered,
        webhook.buffer_window_seconds,
        webhook.max_buffer_size,
        webhook.inactivity_minutes,
    )


async def subscribers(session: AsyncSession, config_id: uuid.UUID) -> list[Subscriber]:
    """The config's active webhooks (cached for the process's config-cache TTL)."""

    async def load() -> list[Subscriber]:
        return [_subscriber(w) for w in await repository.active_for(session, config_id)]

    subscriptions.ttl = config_cache.cache.ttl  # THREADLINE_CONFIG_CACHE_SECONDS, as configured
    return await subscriptions.get(("webhooks", config_id), load)


async def wanted(session: AsyncSession, config_id: uuid.UUID, name: str) -> list[Subscriber]:
    """The webhooks that take event ``name`` of the config (usually none: no query)."""
    return [s for s in await subscribers(session, config_id) if name in s.events]


def order_key(webhook_id: uuid.UUID, conversation_id: uuid.UUID | None) -> str:
    """The lock key that keeps one conversation's deliveries to one webhook in order."""
    return f"webhook:{webhook_id}:{conversation_id or '-'}"


def encode(body: dict[str, Any]) -> str:
    """The exact JSON text delivered (and signed)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


async def emit(session: AsyncSession, event: Event, *, only: uuid.UUID | None = None) -> None:
    """Queue ``event`` for every webhook that wants it (or ``only`` that one), in the
    caller's transaction."""
    targets = await wanted(session, event.config_id, event.name)
    if only is not None:
        targets = [t for t in targets if t.id == only]
    if not targets:
        return
    now = utcnow()
    event_id = str(uuid.uuid4())
    body = {"event": event.name, "event_id": event_id, "occurred_at": now.isoformat()}
    text = encode(body | event.data)
    for target in targets:
        if event.name in target.buffered:
            await _buffer(session, target, event, event_id, text, now)
        else:
            await _queue(session, target, event, event_id, text, now)


def _row(
    target: Subscriber, event: Event, event_id: str, text: str, status: str, now: datetime
) -> WebhookDelivery:
    return WebhookDelivery(
        project_id=target.project_id,
        webhook_id=target.id,
        whatsapp_config_id=event.config_id,
        conversation_id=event.conversation_id,
        event=event.name,
        event_id=event_id,
        body=text,
        status=status,
        batch_size=1,
        attempts=0,
        created_at=now,
        updated_at=now,
    )


async def _queue(
    session: AsyncSession,
    target: Subscriber,
    event: Event,
    event_id: str,
    text: str,
    now: datetime,
) -> None:
    row = _row(target, event, event_id, text, "pending", now)
    await repository.add_deliveries(session, [row])
    await enqueue_delivery(session, row)


async def enqueue_delivery(
    session: AsyncSession, row: WebhookDelivery, *, run_at: datetime | None = None
) -> None:
    """The job that delivers ``row``, behind its conversation's earlier ones."""
    await enqueue(
        session,
        DELIVER_TASK,
        {"delivery_id": row.id},
        run_at=run_at,
        dedupe_key=f"{DELIVER_TASK}:{row.id}",
        lock_key=order_key(row.webhook_id, row.conversation_id),
        project_id=row.project_id,
        replace=True,
    )


async def _buffer(
    session: AsyncSession,
    target: Subscriber,
    event: Event,
    event_id: str,
    text: str,
    now: datetime,
) -> None:
    """Add the event to the conversation's open batch (opening one if none has room)."""
    batch = await _open_batch(session, target, event.conversation_id)
    if batch is None:
        batch = _row(target, event, str(uuid.uuid4()), "", "buffering", now)
        batch.batch_size = 0
        await repository.add_deliveries(session, [batch])
        await enqueue_delivery(
            session, batch, run_at=now + timedelta(seconds=target.window_seconds)
        )
    item = _row(target, event, event_id, text, "batched", now)
    item.batch_id = batch.id
    await repository.add_deliveries(session, [item])
    batch.batch_size += 1
    if batch.batch_size >= target.max_batch:
        await enqueue_delivery(session, batch)  # full: deliver now


async def _open_batch(
    session: AsyncSession, target: Subscriber, conversation_id: uuid.UUID | None
) -> WebhookDelivery | None:
    statement = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == target.id,
            WebhookDelivery.conversation_id == conversation_id
            if conversation_id is not None
            else WebhookDelivery.conversation_id.is_(None),
            WebhookDelivery.status == "buffering",
            WebhookDelivery.batch_size < target.max_batch,
        )
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def batch_items(
    session: AsyncSession, batch_ids: Collection[int]
) -> dict[int, list[WebhookDelivery]]:
    """The events of each of these batches, in order (one query for all of them)."""
    found: dict[int, list[WebhookDelivery]] = {batch_id: [] for batch_id in batch_ids}
    if not found:
        return found
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.batch_id.in_(list(found)))
        .order_by(WebhookDelivery.id)
    )
    for item in (await session.execute(statement)).scalars():
        if item.batch_id is not None:
            found[item.batch_id].append(item)
    return found


async def count_batch(session: AsyncSession, batch_id: int) -> int:
    """How many events a batch holds."""
    statement = select(func.count()).where(WebhookDelivery.batch_id == batch_id)
    return int((await session.execute(statement)).scalar_one())
