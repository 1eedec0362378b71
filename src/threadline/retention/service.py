"""The retention's rules: what is kept, for how long, and how a run is cut into batches.

An ended (or failed) execution's event log is compacted ``event_retention_days`` after
it ended: its oldest pruned event becomes one ``events_pruned`` row saying how many
events went and between which times, and everything but the last
:data:`KEEP_LAST_EVENTS` events is deleted. So ``GET /flow_executions/{id}/events`` of
an old execution shows that summary, then how it ended. Failed jobs, processed webhook
deliveries (Meta's to us, and settled event-webhook deliveries to the user's URLs) and
delivery statuses are deleted after their own periods. Messages, of
either direction, are a conversation's history and are never pruned here. 0 days keeps
that kind forever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.jobs.queue import enqueue
from threadline.retention import repository
from threadline.retention.repository import Due, Event

RETENTION_TASK = "retention.prune"
#: One retention job at a time, across every worker process.
RETENTION_KEY = "retention"
#: The newest events of a compacted execution that stay (its last steps and its end).
KEEP_LAST_EVENTS = 5


async def ensure_scheduled(session: AsyncSession, settings: Settings) -> None:
    """Queue a retention run now unless one is queued (workers call this as they start)."""
    await _enqueue(session, settings, None)


async def schedule_next(
    session: AsyncSession, settings: Settings, now: datetime, *, more: bool
) -> None:
    """The next run: at once while a batch came back full, else after the interval."""
    await _enqueue(session, settings, None if more else now + _interval(settings))


def _interval(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.retention_interval_seconds)


async def _enqueue(session: AsyncSession, settings: Settings, run_at: datetime | None) -> None:
    payload = {"interval_seconds": settings.retention_interval_seconds}
    await enqueue(
        session,
        RETENTION_TASK,
        payload,
        run_at=run_at,
        dedupe_key=RETENTION_KEY,
        lock_key=RETENTION_KEY,
    )


@dataclass
class _Compaction:
    """What one batch of compaction writes, gathered before it is written set-wise."""

    budget: int
    deleted: list[int] = field(default_factory=list)
    summaries: dict[int, dict[str, Any]] = field(default_factory=dict)
    finished: list[uuid.UUID] = field(default_factory=list)

    def take(self, due: Due, rows: list[Event]) -> None:
        """Fold ``due``'s rows into the batch; it is finished if none are left after them."""
        summary = rows[0] if rows and rows[0].kind == repository.SUMMARY_KIND else None
        pruned = rows[1:] if summary is not None else rows
        taken = pruned[: self.budget]
        self.budget -= len(taken)
        if taken:
            self._summarise(summary, taken)
        if len(pruned) == len(taken):
            self.finished.append(due.execution_id)

    def _summarise(self, summary: Event | None, taken: list[Event]) -> None:
        if summary is None:
            summary, taken = taken[0], taken[1:]
            data: dict[str, Any] = {"pruned_events": 1, "first_at": summary.at.isoformat()}
        else:
            data = dict(summary.data or {})
        data["pruned_events"] = int(data.get("pruned_events", 0)) + len(taken)
        data["last_at"] = (taken[-1] if taken else summary).at.isoformat()
        self.summaries[summary.id] = data
        self.deleted.extend(event.id for event in taken)


async def compact_events(
    session: AsyncSession, *, ended_before: datetime, batch: int, now: datetime
) -> bool:
    """Compact the logs of executions ended before ``ended_before``, at most ``batch``
    events; True if more may be left."""
    work = _Compaction(budget=batch)
    due = await repository.compaction_due(
        session, ended_before=ended_before, keep=KEEP_LAST_EVENTS, limit=batch
    )
    for execution in due:
        # Its summary row (if any), the budget's worth, and one more to know if any remain.
        rows = await repository.events_before(session, execution, limit=work.budget + 2)
        work.take(execution, rows)
        if work.budget == 0:
            break
    await repository.delete_events(session, work.deleted)
    await repository.write_summaries(session, work.summaries)
    await repository.mark_compacted(session, work.finished, now)
    return work.budget == 0 or len(due) == batch


async def prune_rest(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """Delete old failed jobs, processed webhook deliveries and statuses, one batch of
    each; True if a batch came back full."""
    batch = settings.retention_batch_size
    full = False
    steps = (
        (settings.failed_job_retention_days, repository.delete_failed_jobs),
        (settings.webhook_retention_days, repository.delete_processed_webhooks),
        (settings.webhook_retention_days, repository.delete_status_events),
        (settings.webhook_retention_days, repository.delete_settled_deliveries),
    )
    for days, step in steps:
        if days > 0:
            full |= await step(session, before=now - timedelta(days=days), limit=batch) == batch
    return full


async def compact_due(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """One batch of event compaction under the settings; True if more may be left."""
    if settings.event_retention_days <= 0:
        return False
    return await compact_events(
        session,
        ended_before=now - timedelta(days=settings.event_retention_days),
        batch=settings.retention_batch_size,
        now=now,
    )
