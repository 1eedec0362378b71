"""The claim takes due jobs and jobs whose worker died: oldest first, never past its limit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from threadline.jobs import repository
from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job


async def _seed(resources: Resources) -> dict[str, int]:
    """Two queued jobs due, two running under a lease that ran out, one not due yet, one
    running under a live lease, one dead on its last attempt: run_at says their age."""
    now = utcnow()
    ages = {"due-old": 50, "dead-older": 60, "due-new": 10, "dead-new": 20, "later": -30}
    ages |= {"live": 70, "last-attempt": 80}
    async with resources.db.transaction() as session:
        for name, age in ages.items():
            await enqueue(session, "test.kind", {"name": name}, run_at=now - timedelta(seconds=age))
    async with resources.db.transaction() as session:
        rows = (await session.execute(select(Job.id, Job.payload))).all()
        ids = {payload["name"]: job_id for job_id, payload in rows}
        lease = {"dead-older": -5, "dead-new": -5, "live": 60, "last-attempt": -5}
        for name, seconds in lease.items():
            attempts = 3 if name == "last-attempt" else 1
            await session.execute(
                update(Job)
                .where(Job.id == ids[name])
                .values(
                    status="running",
                    attempts=attempts,
                    max_attempts=3,
                    lease_expires_at=now + timedelta(seconds=seconds),
                )
            )
    return ids


async def _claim(resources: Resources, limit: int) -> list[str]:
    async with resources.db.transaction() as session:
        claimed = await repository.claim(session, now=utcnow(), limit=limit, lease_seconds=30)
    return [job.payload["name"] for job in claimed]


async def test_the_claim_takes_the_oldest_of_both_kinds_up_to_its_limit(
    resources: Resources,
) -> None:
    await _seed(resources)
    first = await _claim(resources, 3)
    assert sorted(first) == ["dead-new", "dead-older", "due-old"]
    assert await _claim(resources, 3) == ["due-new"]
    # Not due, held under a live lease, or out of attempts (the reaper's): never claimed.
    assert await _claim(resources, 3) == []


async def test_the_due_jobs_probe_names_tasks_with_due_jobs_and_the_next_one_due(
    resources: Resources,
) -> None:
    now = utcnow()
    async with resources.db.transaction() as session:
        await enqueue(session, "test.due", {}, run_at=now - timedelta(seconds=1))
        await enqueue(session, "test.died", {})
        await enqueue(session, "test.later", {}, run_at=now + timedelta(seconds=30))
        await enqueue(session, "test.later", {}, run_at=now + timedelta(seconds=20))
        await enqueue(session, "test.unasked", {}, run_at=now + timedelta(seconds=5))
        await session.execute(
            update(Job)
            .where(Job.task == "test.died")
            .values(status="running", attempts=1, lease_expires_at=now - timedelta(seconds=1))
        )
    asked = ["test.due", "test.died", "test.later", "test.none"]
    async with resources.db.read() as session:
        due, later = await repository.due_tasks(session, now=now, tasks=asked)
        nothing = await repository.due_tasks(session, now=now, tasks=["test.none"])
    assert due == {"test.due", "test.died"}
    assert later is not None and abs((later - now).total_seconds() - 20) < 0.01
    assert nothing == (set(), None)
