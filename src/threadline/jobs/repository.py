"""SQL of the job queue: enqueue, claim, finish, retry.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL. SQLite has no row locks: there
every transaction holds the database write lock from its first statement
(``BEGIN IMMEDIATE``), so the same statement is already exclusive.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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
    run_at: datetime | None = None
    #: Its lock key: the next job of the key may be claimed once this one ends.
    lock_key: str | None = None


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert_statement(dialect: Any, mode: str) -> Any:
    """A Core INSERT of one job, built once per dialect and conflict mode.

    On the job table, not the ORM entity: the ORM path re-derives the statement's columns
    and cache key on every call, which was most of an enqueue's CPU.
    """
    statement: Any = dialect.insert(cast(Table, Job.__table__))
    # A literal predicate: with a bound parameter PostgreSQL cannot match the partial
    # index once it switches the prepared statement to a generic plan (6th use).
    target = {"index_elements": ["dedupe_key"], "index_where": text("status = 'queued'")}
    if mode == "replace":
        moved = {"payload": statement.excluded.payload, "run_at": statement.excluded.run_at}
        return statement.on_conflict_do_update(**target, set_=moved)
    if mode == "keep":
        return statement.on_conflict_do_nothing(**target)
    return statement


_INSERT = {
    (postgres, mode): _insert_statement(postgresql if postgres else sqlite, mode)
    for postgres in (True, False)
    for mode in ("plain", "keep", "replace")
}


async def insert(session: AsyncSession, values: dict[str, Any], *, replace: bool = False) -> None:
    """Insert a job; a queued job with the same ``dedupe_key`` makes this a no-op, or with
    ``replace`` gets this one's payload and ``run_at``."""
    mode = "plain" if values.get("dedupe_key") is None else "replace" if replace else "keep"
    await session.execute(_INSERT[(_is_postgres(session), mode)], [values])


def _ready(job: Any, now: Any) -> Any:
    """Due: queued and due, or running under a lease that ran out (its worker died)."""
    return or_(
        and_(job.status == "queued", job.run_at <= now),
        and_(job.status == "running", job.lease_expires_at < now),
    )


#: The jobs table: the claim and the finish are built on it, not on the ORM entity, whose
#: DML statements are annotated anew, and their cache key rebuilt, on every call.
_JOBS = cast(Table, Job.__table__)


def _claimable(now: Any, *, known_only: bool, expired: bool) -> Any:
    """Claimable jobs of one kind: queued and due, or (``expired``) running under a lease
    that ran out (its worker died)."""
    job, other = _JOBS.c, _JOBS.alias("other").c
    # Head of line: any older job of the same key that is not settled (queued, whatever
    # its run_at, or running) blocks this one, so same-key jobs run in enqueue order; a
    # newer one running under a live lease blocks too (mutual exclusion).
    lock_busy = exists().where(
        other.lock_key == job.lock_key,
        other.id != job.id,
        or_(
            and_(other.status == "running", other.lease_expires_at >= now),
            and_(other.id < job.id, other.status.in_(("queued", "running"))),
        ),
    )
    if expired:
        # A dead worker's job that used its last attempt is not run again: the reaper
        # fails it.
        ready = and_(
            job.status == "running", job.lease_expires_at < now, job.attempts < job.max_attempts
        )
    else:
        ready = and_(job.status == "queued", job.run_at <= now)
    conditions = [ready, or_(job.lock_key.is_(None), ~lock_busy)]
    if known_only:
        conditions.append(job.task.in_(bindparam("tasks", expanding=True)))
    return and_(*conditions)


def _claim_branch(
    now: Any, limit: Any, *, skip_locked: bool, known_only: bool, expired: bool
) -> Any:
    """The oldest ``limit`` claimable jobs of one kind, in ``run_at`` order (and locked).

    One kind per branch, so that PostgreSQL walks ``ix_jobs_claim`` (status, run_at) in
    order and stops after ``limit`` rows: with the two kinds ``OR``-ed in one query it
    read and sorted the whole due backlog on every claim (``python -m bench.explain``).
    """
    ids = (
        select(_JOBS.c.id, _JOBS.c.run_at)
        .where(_claimable(now, known_only=known_only, expired=expired))
        .order_by(_JOBS.c.run_at)
        .limit(limit)
    )
    if skip_locked:
        ids = ids.with_for_update(skip_locked=True)
    return ids.subquery("expired" if expired else "queued")


def _claim_statement(*, skip_locked: bool, known_only: bool) -> Any:
    """The claim, built once: it runs on every wake-up of every worker."""
    now = bindparam("now", type_=UtcDateTime())
    limit: Any = bindparam("limit")
    kinds = [
        _claim_branch(now, limit, skip_locked=skip_locked, known_only=known_only, expired=e)
        for e in (False, True)
    ]
    both = union_all(*(select(kind.c.id, kind.c.run_at) for kind in kinds)).subquery("due")
    ids = select(both.c.id).order_by(both.c.run_at).limit(limit)
    job = _JOBS.c
    return (
        update(_JOBS)
        .where(job.id.in_(ids.scalar_subquery()))
        .values(
            status="running",
            attempts=job.attempts + 1,
            lease_expires_at=bindparam("lease_until", type_=UtcDateTime()),
        )
        .returning(
            job.id, job.task, job.payload, job.attempts, job.max_attempts, job.run_at, job.lock_key
        )
    )


_CLAIM = {
    (postgres, known_only): _claim_statement(skip_locked=postgres, known_only=known_only)
    for postgres in (True, False)
    for known_only in (True, False)
}


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease_seconds: float,
    tasks: Collection[str] | None = None,
) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs running with a lease, and return them.

    ``tasks`` limits the claim to those task names (a worker claims only what it knows,
    one lane at a time); None claims any.
    """
    params: dict[str, Any] = {
        "now": now,
        "limit": limit,
        "lease_until": now + timedelta(seconds=lease_seconds),
    }
    if tasks is not None:
        params["tasks"] = list(tasks)
    statement = _CLAIM[(_is_postgres(session), tasks is not None)]
    rows = (await session.execute(statement, params)).all()
    return [
        ClaimedJob(r.id, r.task, r.payload, r.attempts, r.max_attempts, r.run_at, r.lock_key)
        for r in rows
    ]


_HELD = (Job.id, Job.task, Job.payload, Job.attempts, Job.max_attempts)


async def exhausted(
    session: AsyncSession, *, now: datetime, tasks: Collection[str], limit: int = 100
) -> list[ClaimedJob]:
    """Jobs of ``tasks`` whose last allowed attempt lost its worker (its lease ran out)."""
    statement = (
        select(*_HELD)
        .where(
            Job.status == "running",
            Job.lease_expires_at < now,
            Job.attempts >= Job.max_attempts,
            Job.task.in_(list(tasks)),
        )
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [ClaimedJob(r.id, r.task, r.payload, r.attempts, r.max_attempts) for r in rows]


async def unknown_overdue(
    session: AsyncSession,
    *,
    now: datetime,
    known: Collection[str],
    created_before: datetime,
    limit: int = 100,
) -> list[ClaimedJob]:
    """Due jobs of tasks not in ``known``, created before ``created_before``."""
    statement = (
        select(*_HELD)
        .where(_ready(Job, now), Job.task.not_in(list(known)), Job.created_at < created_before)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [ClaimedJob(r.id, r.task, r.payload, r.attempts, r.max_attempts) for r in rows]


async def fail_abandoned(
    session: AsyncSession, job: ClaimedJob, error: str, *, now: datetime
) -> bool:
    """Mark failed a job nobody holds (still due, same attempt); False if someone took it."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts, _ready(Job, now))
        .values(status="failed", last_error=error[:4000], lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


_FINISH = delete(_JOBS).where(
    _JOBS.c.id == bindparam("job_id"), _JOBS.c.attempts == bindparam("held_attempts")
)


async def finish(session: AsyncSession, job: ClaimedJob) -> bool:
    """Delete a job this worker still holds; False when its lease was taken over."""
    result = await session.execute(_FINISH, {"job_id": job.id, "held_attempts": job.attempts})
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def reschedule(
    session: AsyncSession, job: ClaimedJob, *, run_at: datetime, error: str | None, count: bool
) -> bool:
    """Put a held job back in the queue to run at ``run_at``; False if it was taken over.

    A newer job with the same ``dedupe_key`` may have been queued meanwhile (it does the
    same work): this one is then folded into it, to run no earlier than ``run_at``,
    instead of breaking the one-queued-job-per-key index.
    """
    folded = await _fold_into_queued_twin(session, job, run_at)
    if folded is not None:
        return folded
    values: dict[str, Any] = {"status": "queued", "run_at": run_at, "lease_expires_at": None}
    if error is not None:
        values["last_error"] = error[:4000]
    if not count:
        # ``attempts`` is the lease token and only ever grows; an uncounted retry
        # extends the allowance instead.
        values["max_attempts"] = Job.max_attempts + 1
    result = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts, Job.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def _fold_into_queued_twin(
    session: AsyncSession, job: ClaimedJob, run_at: datetime
) -> bool | None:
    """None when there is no twin to fold into; else whether this worker still held the job."""
    held = select(Job.dedupe_key).where(Job.id == job.id, Job.attempts == job.attempts)
    key = (await session.execute(held)).scalar_one_or_none()
    if key is None:
        return None
    twins = select(Job.id).where(Job.dedupe_key == key, Job.status == "queued", Job.id != job.id)
    twin = (await session.execute(twins)).scalar_one_or_none()
    if twin is None:
        return None
    await session.execute(
        update(Job)
        .where(Job.id == twin, Job.run_at < run_at)
        .values(run_at=run_at)
        .execution_options(synchronize_session=False)
    )
    return await finish(session, job)


async def mark_failed(session: AsyncSession, job: ClaimedJob, error: str) -> bool:
    """Keep a job that will never succeed, for inspection; False if it was taken over."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts, Job.status == "running")
        .values(status="failed", last_error=error[:4000], lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _held(jobs: Collection[ClaimedJob]) -> Any:
    """This worker's rows of ``jobs``: same id, same attempt (the lease token)."""
    return tuple_(Job.id, Job.attempts).in_([(job.id, job.attempts) for job in jobs])


async def extend_leases(
    session: AsyncSession, jobs: list[ClaimedJob], *, until: datetime
) -> list[int]:
    """Heartbeat: push the lease of every job this worker still runs, in one statement.

    Returns the ids of the jobs it no longer holds (taken over, or already settled).
    On PostgreSQL it never waits for a row lock: a batch locks its jobs' rows first and
    then waits for conversations' and executions' locks, whose holders may be deleting
    their own job; a heartbeat holding one of those rows while waiting for a batch's
    would close a cycle. A row locked right now (being finished, or by its batch) keeps
    its lease this beat, and counts as lost only if its committed row says so.
    """
    postgres = _is_postgres(session)
    mine = select(Job.id).where(_held(jobs), Job.status == "running")
    statement = (
        update(Job)
        .where(Job.id.in_(mine.with_for_update(skip_locked=True) if postgres else mine))
        .values(lease_expires_at=until)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    kept = set((await session.execute(statement)).scalars())
    skipped = [job for job in jobs if job.id not in kept]
    if skipped and postgres:
        busy = select(Job.id).where(_held(skipped), Job.status == "running")
        kept |= set((await session.execute(busy)).scalars())
    return [job.id for job in jobs if job.id not in kept]


async def lock_held(session: AsyncSession, jobs: Collection[ClaimedJob]) -> set[int]:
    """Lock the rows of ``jobs`` this worker still holds, for the transaction; their ids.

    ``FOR UPDATE`` on PostgreSQL: a claim skips locked rows, so none of them can be taken
    over before the transaction ends. SQLite's transaction is exclusive already.
    """
    if not jobs:
        return set()
    statement = select(Job.id).where(_held(jobs), Job.status == "running").with_for_update()
    return set((await session.execute(statement)).scalars())


async def finish_many(session: AsyncSession, jobs: Collection[ClaimedJob]) -> set[int]:
    """Delete the jobs of ``jobs`` this worker still holds, in one statement; their ids."""
    if not jobs:
        return set()
    statement = (
        delete(Job)
        .where(_held(jobs))
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return set((await session.execute(statement)).scalars())


#: Channel of the ``jobs`` insert trigger (migrations 0006, 0020) that wakes listening workers.
NOTIFY_CHANNEL = "threadline_jobs"


def _probe_statement() -> Any:
    """The due-jobs probe, built once: the earliest job due later (one row, its task
    NULL), then each task with a job due now (queued and due, or its lease run out). One
    statement, one round trip; each branch walks ``ix_jobs_claim`` (status, run_at)."""
    now = bindparam("now", type_=UtcDateTime())
    tasks: Any = bindparam("tasks", expanding=True)
    # Typed NULLs: PostgreSQL makes an untyped one text under DISTINCT.
    no_task, no_time = null().cast(Job.task.type), null().cast(Job.run_at.type)
    later = select(no_task.label("task"), func.min(Job.run_at).label("run_at")).where(
        Job.status == "queued", Job.run_at > now, Job.task.in_(tasks)
    )
    # The two kinds of due job apart: with them OR-ed SQLite scanned the whole table.
    kinds = [
        and_(Job.status == "queued", Job.run_at <= now),
        and_(Job.status == "running", Job.lease_expires_at < now),
    ]
    due = [select(Job.task, no_time).where(k, Job.task.in_(tasks)).distinct() for k in kinds]
    return union_all(later, *due)


_PROBE = _probe_statement()


async def due_tasks(
    session: AsyncSession, *, now: datetime, tasks: Collection[str]
) -> tuple[set[str], datetime | None]:
    """Which of ``tasks`` have a job a claim could take now (a superset: a due job whose
    lock key is busy counts too), and when their earliest job due later is. A read: the
    worker asks it before claiming, so a lane with nothing due costs no write
    transaction, and it sleeps until that job at most."""
    rows = (await session.execute(_PROBE, {"now": now, "tasks": list(tasks)})).all()
    due = {row.task for row in rows if row.task is not None}
    later = [row.run_at for row in rows if row.task is None]
    return due, later[0] if later else None


async def due_by_task(session: AsyncSession, now: datetime) -> list[tuple[str, int, datetime]]:
    """Per task: how many queued jobs are due, and since when the oldest one is."""
    statement = (
        select(Job.task, func.count(), func.min(Job.run_at))
        .where(Job.status == "queued", Job.run_at <= now)
        .group_by(Job.task)
    )
    return [(task, count, oldest) for task, count, oldest in await session.execute(statement)]


async def delete_queued(session: AsyncSession, dedupe_key: str) -> None:
    """Drop the queued job with this key (a timer that is no longer needed)."""
    await session.execute(
        delete(Job)
        .where(Job.dedupe_key == dedupe_key, Job.status == "queued")
        .execution_options(synchronize_session=False)
    )


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert jobs in one call; a row whose queued ``dedupe_key`` exists is skipped."""
    if not rows:
        return
    # The prebuilt statement, executed for many rows: a multi-row VALUES would be
    # compiled again on every call.
    await session.execute(_INSERT[(_is_postgres(session), "keep")], rows)
