"""SQL of the job queue: enqueue, claim, finish, retry.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL. SQLite has no row locks: there
every transaction holds the database write lock from its first statement
(``BEGIN IMMEDIATE``), so the same statement is already exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.models import Job
from threadline.models._types import UtcDateTime


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds; ``attempts`` doubles as the lease token."""

    id: int
    task: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def insert(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert a job; a queued job with the same ``dedupe_key`` makes this a no-op."""
    dialect = postgresql if _is_postgres(session) else sqlite
    statement = dialect.insert(Job).values(**values)
    if values.get("dedupe_key") is not None:
        # A literal predicate: with a bound parameter PostgreSQL cannot match the partial
        # index once it switches the prepared statement to a generic plan (6th use).
        statement = statement.on_conflict_do_nothing(
            index_elements=["dedupe_key"], index_where=text("status = 'queued'")
        )
    await session.execute(statement)


def _ready(job: Any, now: Any) -> Any:
    return or_(
        and_(job.status == "queued", job.run_at <= now),
        and_(job.status == "running", job.lease_expires_at < now),
    )


def _claimable(now: Any) -> Any:
    other = aliased(Job)
    # Busy: another job of the lock runs under a live lease, or an older one is ready
    # too (a dead worker's job beside a newer one): only the oldest may be claimed.
    lock_busy = exists().where(
        other.lock_key == Job.lock_key,
        other.id != Job.id,
        or_(
            and_(other.status == "running", other.lease_expires_at >= now),
            and_(other.id < Job.id, _ready(other, now)),
        ),
    )
    return and_(_ready(Job, now), or_(Job.lock_key.is_(None), ~lock_busy))


def _claim_statement(*, skip_locked: bool) -> Any:
    """The claim, built once: it runs on every wake-up of every worker."""
    now = bindparam("now", type_=UtcDateTime())
    ids = select(Job.id).where(_claimable(now)).order_by(Job.run_at).limit(bindparam("limit"))
    if skip_locked:
        ids = ids.with_for_update(skip_locked=True)
    return (
        update(Job)
        .where(Job.id.in_(ids.scalar_subquery()))
        .values(
            status="running",
            attempts=Job.attempts + 1,
            lease_expires_at=bindparam("lease_until", type_=UtcDateTime()),
        )
        .returning(Job.id, Job.task, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )


_CLAIM = {True: _claim_statement(skip_locked=True), False: _claim_statement(skip_locked=False)}


async def claim(
    session: AsyncSession, *, now: datetime, limit: int, lease_seconds: float
) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs running with a lease, and return them."""
    params = {"now": now, "limit": limit, "lease_until": now + timedelta(seconds=lease_seconds)}
    rows = (await session.execute(_CLAIM[_is_postgres(session)], params)).all()
    return [ClaimedJob(r.id, r.task, r.payload, r.attempts, r.max_attempts) for r in rows]


async def finish(session: AsyncSession, job: ClaimedJob) -> bool:
    """Delete a job this worker still holds; False when its lease was taken over."""
    statement = delete(Job).where(Job.id == job.id, Job.attempts == job.attempts)
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def reschedule(
    session: AsyncSession, job: ClaimedJob, *, run_at: datetime, error: str | None, count: bool
) -> None:
    """Put a held job back in the queue to run at ``run_at``.

    A newer job with the same ``dedupe_key`` may have been queued meanwhile (it does the
    same work): this one is then folded into it, to run no earlier than ``run_at``,
    instead of breaking the one-queued-job-per-key index.
    """
    if await _fold_into_queued_twin(session, job, run_at):
        return
    values: dict[str, Any] = {"status": "queued", "run_at": run_at, "lease_expires_at": None}
    if error is not None:
        values["last_error"] = error[:4000]
    if not count:
        # ``attempts`` is the lease token and only ever grows; an uncounted retry
        # extends the allowance instead.
        values["max_attempts"] = Job.max_attempts + 1
    await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def _fold_into_queued_twin(session: AsyncSession, job: ClaimedJob, run_at: datetime) -> bool:
    held = select(Job.dedupe_key).where(Job.id == job.id, Job.attempts == job.attempts)
    key = (await session.execute(held)).scalar_one_or_none()
    if key is None:
        return False
    twins = select(Job.id).where(Job.dedupe_key == key, Job.status == "queued", Job.id != job.id)
    twin = (await session.execute(twins)).scalar_one_or_none()
    if twin is None:
        return False
    await session.execute(
        update(Job)
        .where(Job.id == twin, Job.run_at < run_at)
        .values(run_at=run_at)
        .execution_options(synchronize_session=False)
    )
    return await finish(session, job)


async def mark_failed(session: AsyncSession, job: ClaimedJob, error: str) -> None:
    """Keep a job that will never succeed, for inspection."""
    await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts)
        .values(status="failed", last_error=error[:4000], lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


async def extend_leases(session: AsyncSession, jobs: list[ClaimedJob], *, until: datetime) -> None:
    """Heartbeat: push the lease of every job this worker still runs."""
    for job in jobs:
        await session.execute(
            update(Job)
            .where(Job.id == job.id, Job.attempts == job.attempts, Job.status == "running")
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False)
        )


NOTIFY_CHANNEL = "threadline_jobs"


async def notify_workers(session: AsyncSession) -> bool:
    """On PostgreSQL, wake listening workers of every process when this transaction commits.

    Returns False on SQLite, where only in-process wake-ups exist.
    """
    if not _is_postgres(session):
        return False
    await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
    return True


async def next_run_at(session: AsyncSession) -> datetime | None:
    """When the earliest queued job is due, to sleep exactly until then."""
    return (
        await session.execute(select(func.min(Job.run_at)).where(Job.status == "queued"))
    ).scalar_one_or_none()


async def delete_queued(session: AsyncSession, dedupe_key: str) -> None:
    """Drop the queued job with this key (a timer that is no longer needed)."""
    await session.execute(
        delete(Job)
        .where(Job.dedupe_key == dedupe_key, Job.status == "queued")
        .execution_options(synchronize_session=False)
    )
