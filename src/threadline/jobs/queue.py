"""Enqueueing jobs inside the caller's transaction: a job exists iff its cause committed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from threadline.jobs import repository
from threadline.jobs.registry import registry
from threadline.kit.clock import utcnow

_ENQUEUED = "threadline.jobs_enqueued"


async def enqueue(
    session: AsyncSession,
    task: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    lock_key: str | None = None,
    max_attempts: int | None = None,
    replace: bool = False,
    project_id: uuid.UUID | None = None,
) -> None:
    """Add a job to the queue as part of ``session``'s transaction.

    ``max_attempts`` defaults to the task's retry policy. A queued job with the same
    ``dedupe_key`` makes this a no-op, or with ``replace`` takes this one's payload and
    ``run_at`` (a timer moved to a later wait). After the commit this process's workers
    are told the task and when it is due (they claim a job due now at once, and sleep
    no longer than until one due later); other processes' are woken for a job due now
    (PostgreSQL), and find one due later by their next poll, within one poll interval.
    ``project_id`` names the project the job works for, when the caller knows it (the
    shard key, past one server).
    """
    now = utcnow()
    await repository.insert(
        session,
        {
            "project_id": project_id,
            "task": task,
            "payload": payload,
            "status": "queued",
            "run_at": run_at or now,
            "attempts": 0,
            "max_attempts": max_attempts or registry.policy(task).max_attempts,
            "dedupe_key": dedupe_key,
            "lock_key": lock_key,
            "created_at": now,
        },
        replace=replace,
    )
    _wake_after_commit(session, task, run_at, now)


@dataclass(frozen=True)
class NewJob:
    """One job of :func:`enqueue_many` (the same fields as :func:`enqueue`'s)."""

    task: str
    payload: dict[str, Any]
    run_at: datetime | None = None
    dedupe_key: str | None = None
    lock_key: str | None = None
    project_id: uuid.UUID | None = None


async def enqueue_many(session: AsyncSession, jobs: list[NewJob]) -> None:
    """:func:`enqueue` for several jobs in one statement (a job whose dedupe key is queued
    is skipped, as there)."""
    now = utcnow()
    rows = [
        {
            "project_id": job.project_id,
            "task": job.task,
            "payload": job.payload,
            "status": "queued",
            "run_at": job.run_at or now,
            "attempts": 0,
            "max_attempts": registry.policy(job.task).max_attempts,
            "dedupe_key": job.dedupe_key,
            "lock_key": job.lock_key,
            "created_at": now,
        }
        for job in jobs
    ]
    if rows:
        await repository.insert_many(session, rows)
        for job in jobs:
            _wake_after_commit(session, job.task, job.run_at, now)


@dataclass
class _Enqueued:
    """What a transaction enqueued, for the wake-up after its commit."""

    due: set[str] = field(default_factory=set)  # tasks with a job due now
    later: dict[str, datetime] = field(default_factory=dict)  # task: earliest run_at

    def add(self, task: str, run_at: datetime | None, now: datetime) -> None:
        if run_at is None or run_at <= now:
            self.due.add(task)
        elif task not in self.later or run_at < self.later[task]:
            self.later[task] = run_at


def _wake_after_commit(
    session: AsyncSession, task: str, run_at: datetime | None, now: datetime
) -> None:
    # In-process workers are told after the commit; on PostgreSQL a trigger on ``jobs``
    # notifies the other processes' of jobs due now (migration 0020).
    enqueued = session.sync_session.info.setdefault(_ENQUEUED, _Enqueued())
    enqueued.add(task, run_at, now)


async def cancel(session: AsyncSession, dedupe_key: str) -> None:
    """Remove a queued job by its dedupe key, as part of ``session``'s transaction."""
    await repository.delete_queued(session, dedupe_key)


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    enqueued: _Enqueued | None = session.info.pop(_ENQUEUED, None)
    if enqueued is not None:
        registry.wake(enqueued.due, later=enqueued.later)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)
