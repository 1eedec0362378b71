"""SQL of the retention: finding what is old enough to go, and removing it in batches.

Every statement is bounded (``LIMIT``) and reads through an index, so a run never
scans or locks more than one batch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.models import (
    ExecutionEvent,
    FlowExecution,
    InboundWebhook,
    Job,
    MessageStatusEvent,
    WebhookDelivery,
)

#: The kind of the one row that stands for an execution's pruned events.
SUMMARY_KIND = "events_pruned"


@dataclass(frozen=True)
class Due:
    """An ended execution whose log is to be compacted.

    ``boundary`` is the id of the oldest event kept (the last ones always are), None
    when the log is no longer than what is kept.
    """

    execution_id: uuid.UUID
    project_id: uuid.UUID
    boundary: int | None


@dataclass(frozen=True)
class Event:
    """The fields of an event the compaction needs."""

    id: int
    kind: str
    at: datetime
    data: dict[str, Any] | None


async def compaction_due(
    session: AsyncSession, *, ended_before: datetime, keep: int, limit: int
) -> list[Due]:
    """The oldest-ended executions not compacted yet, with where their kept events start."""
    kept = aliased(ExecutionEvent)
    boundary = (
        select(kept.id)
        .where(kept.execution_id == FlowExecution.id, kept.kind != SUMMARY_KIND)
        .order_by(kept.id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        select(FlowExecution.id, FlowExecution.project_id, boundary)
        .where(
            # The partial index's own predicate, spelled out so both databases use it.
            FlowExecution.ended_at.is_not(None),
            FlowExecution.events_compacted_at.is_(None),
            FlowExecution.ended_at < ended_before,
        )
        .order_by(FlowExecution.ended_at)
        .limit(limit)
    )
    return [Due(*row) for row in (await session.execute(statement)).all()]


async def events_before(session: AsyncSession, due: Due, *, limit: int) -> list[Event]:
    """The oldest ``limit`` events of ``due`` older than its kept ones (its summary first)."""
    if due.boundary is None:
        return []
    statement = (
        select(ExecutionEvent.id, ExecutionEvent.kind, ExecutionEvent.at, ExecutionEvent.data)
        .where(
            ExecutionEvent.project_id == due.project_id,
            ExecutionEvent.execution_id == due.execution_id,
            ExecutionEvent.id < due.boundary,
        )
        .order_by(ExecutionEvent.id)
        .limit(limit)
    )
    return [Event(*row) for row in (await session.execute(statement)).all()]


async def delete_events(session: AsyncSession, ids: list[int]) -> None:
    """Delete events by id, in one statement."""
    if ids:
        await session.execute(
            delete(ExecutionEvent)
            .where(ExecutionEvent.id.in_(ids))
            .execution_options(synchronize_session=False)
        )


async def write_summaries(session: AsyncSession, summaries: dict[int, dict[str, Any]]) -> None:
    """Make each event id of ``summaries`` the summary row with that data (one executemany)."""
    if not summaries:
        return
    table = cast(Table, ExecutionEvent.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("event_id"))
        .values(kind=SUMMARY_KIND, node_id=None, duration_ms=None, data=bindparam("summary"))
    )
    rows = [{"event_id": key, "summary": data} for key, data in summaries.items()]
    await session.execute(statement, rows)


async def mark_compacted(session: AsyncSession, ids: list[uuid.UUID], now: datetime) -> None:
    """Note that these executions' logs are compacted: the to-do index forgets them."""
    if ids:
        await session.execute(
            update(FlowExecution)
            .where(FlowExecution.id.in_(ids))
            .values(events_compacted_at=now)
            .execution_options(synchronize_session=False)
        )


async def delete_failed_jobs(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` failed jobs whose last attempt was due before ``before``."""
    ids = (
        select(Job.id)
        .where(Job.status == "failed", Job.run_at < before)
        .order_by(Job.run_at)
        .limit(limit)
    )
    return await _delete_ids(session, Job, ids)


async def delete_processed_webhooks(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` processed webhook deliveries received before ``before``."""
    ids = (
        select(InboundWebhook.id)
        .where(InboundWebhook.status == "processed", InboundWebhook.received_at < before)
        .order_by(InboundWebhook.received_at)
        .limit(limit)
    )
    return await _delete_ids(session, InboundWebhook, ids)


async def delete_status_events(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` delivery statuses received before ``before``."""
    ids = (
        select(MessageStatusEvent.id)
        .where(MessageStatusEvent.received_at < before)
        .order_by(MessageStatusEvent.received_at)
        .limit(limit)
    )
    return await _delete_ids(session, MessageStatusEvent, ids)


async def delete_settled_deliveries(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` event-webhook deliveries settled (delivered, failed, or sent
    inside a batch) before ``before``; pending and buffering ones stay."""
    ids = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status.in_(("delivered", "failed", "batched")),
            WebhookDelivery.updated_at < before,
        )
        .order_by(WebhookDelivery.updated_at)
        .limit(limit)
    )
    return await _delete_ids(session, WebhookDelivery, ids)


async def _delete_ids(session: AsyncSession, model: Any, ids: Any) -> int:
    """Delete the rows ``ids`` selects: the ids first, then by primary key, so the delete
    reads one index entry per row whatever plan ``IN (subquery)`` would have got."""
    found = list((await session.execute(ids)).scalars())
    if found:
        await session.execute(
            delete(model).where(model.id.in_(found)).execution_options(synchronize_session=False)
        )
    return len(found)
