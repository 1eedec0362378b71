"""Enqueueing jobs inside the caller's transaction: a job exists iff its cause committed."""

from __future__ import annotations

from dataclasses import dataclass
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
) -> None:
    """Add a job to the queue as part of ``session``'s transaction.

    ``max_attempts`` defaults to the task's retry policy.
    """
    now = utcnow()
    await repository.insert(
        session,
        {
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
    )
    await _notify_once(session)


@dataclass(frozen=True)
class NewJob:
    """One job of :func:`enqueue_many` (the same fields as :func:`enqueue`'s)."""

    task: str
    payload: dict[str, Any]
    run_at: datetime | None = None
    dedupe_key: str | None = None
    lock_key: str | None = None


async def enqueue_many(session: AsyncSession, jobs: list[NewJob]) -> None:
    """:func:`enqueue` for several jobs in one statement (a job whose dedupe key is queued
    is skipped, as there)."""
    now = utcnow()
    rows = [
        {
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
        await _notify_once(session)


async def _notify_once(session: AsyncSession) -> None:
    info = session.sync_session.info
    if not info.get(_ENQUEUED):
        # Once per transaction: PostgreSQL delivers it at commit, to other processes too.
        await repository.notify_workers(session)
    info[_ENQUEUED] = True


async def cancel(session: AsyncSession, dedupe_key: str) -> None:
    """Remove a queued job by its dedupe key, as part of ``session``'s transaction."""
    await repository.delete_queued(session, dedupe_key)


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        registry.wake()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)
