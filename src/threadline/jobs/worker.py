"""The worker: claims due jobs, runs them concurrently, keeps their leases alive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs import repository
from threadline.jobs.listener import JobListener
from threadline.jobs.registry import Registry, registry
from threadline.jobs.repository import ClaimedJob
from threadline.jobs.retry import LeaseLost, PermanentJobError, RetryLater
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources

log = logging.getLogger("threadline.worker")


@dataclass
class JobContext:
    """What a task handler gets: its job and the process's resources."""

    job: ClaimedJob
    resources: Resources
    finished: bool = field(default=False)

    async def finish(self, session: AsyncSession) -> None:
        """Delete the job inside ``session``'s transaction, so it ends with its effects.

        Raises :class:`LeaseLost` if another worker has taken the job over; the caller's
        transaction then rolls back and nothing is applied twice.
        """
        if not await repository.finish(session, self.job):
            raise LeaseLost(f"job {self.job.id} was taken over")
        self.finished = True


class Worker:
    """Runs jobs from the database queue until stopped."""

    def __init__(self, resources: Resources, *, tasks: Registry = registry) -> None:
        self.resources = resources
        self.registry = tasks
        settings = resources.settings
        self.concurrency = settings.worker_concurrency
        self.poll_seconds = settings.worker_poll_seconds
        self.lease_seconds = settings.job_lease_seconds
        self._running: dict[int, ClaimedJob] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Claim and run jobs until :meth:`stop` is called."""
        self.registry.add_waker(self._wake)
        listener = JobListener(self.resources.db.url, self._wake)
        await listener.start()
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not self._stopping.is_set():
                # Cleared before claiming: a commit or a finished job after this point
                # sets it again, so the sleep below cannot miss it.
                self._wake.clear()
                if await self._claim_batch():
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), await self._idle_seconds())
        finally:
            heartbeat.cancel()
            self.registry.remove_waker(self._wake)
            await self._drain()
            await listener.stop()

    def stop(self) -> None:
        """Ask the loop to finish the jobs it holds and return."""
        self._stopping.set()
        self._wake.set()

    async def run_until_idle(self, *, timeout: float = 30.0) -> None:
        """Run due jobs until none is left (tests and the demo use this)."""
        async with asyncio.timeout(timeout):
            while True:
                # A claim racing a job's commit can miss what it enqueued: stop only
                # after a claim that started with nothing running finds nothing.
                busy_before = bool(self._running)
                if not await self._claim_batch() and not busy_before and not self._running:
                    return
                await asyncio.sleep(0.005)

    async def _claim_batch(self) -> int:
        free = self.concurrency - len(self._running)
        if free <= 0:
            return 0
        async with self.resources.db.transaction() as session:
            jobs = await repository.claim(
                session, now=utcnow(), limit=free, lease_seconds=self.lease_seconds
            )
        for job in jobs:
            self._running[job.id] = job
            task = asyncio.create_task(self._run_one(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(jobs)

    async def _idle_seconds(self) -> float:
        """How long to sleep: until the next job falls due, at most one poll interval.

        A job already due but not claimed (all slots busy, or its lock held) is not a
        reason to spin: a finishing job wakes the loop, other processes' within a poll.
        """
        if len(self._running) >= self.concurrency:
            return self.poll_seconds
        async with self.resources.db.session() as session:
            due = await repository.next_run_at(session)
        wait = (due - utcnow()).total_seconds() if due is not None else self.poll_seconds
        return min(self.poll_seconds, wait) if wait > 0 else self.poll_seconds

    async def _run_one(self, job: ClaimedJob) -> None:
        context = JobContext(job=job, resources=self.resources)
        try:
            await self.registry.get(job.task).handler(context)
            if not context.finished:
                async with self.resources.db.transaction() as session:
                    await context.finish(session)
        except LeaseLost:
            log.warning("job %s (%s) lost its lease; another worker owns it", job.id, job.task)
        except Exception as error:
            await self._record_failure(job, error)
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def _record_failure(self, job: ClaimedJob, error: Exception) -> None:
        policy = self.registry.policy(job.task)
        message = f"{type(error).__name__}: {error}"
        async with self.resources.db.transaction() as session:
            if isinstance(error, RetryLater):
                run_at = utcnow() + timedelta(seconds=error.delay)
                await repository.reschedule(session, job, run_at=run_at, error=None, count=False)
            elif isinstance(error, PermanentJobError) or job.attempts >= job.max_attempts:
                log.error("job %s (%s) failed for good: %s", job.id, job.task, message)
                await repository.mark_failed(session, job, message)
                await self._give_up(session, job, message)
            else:
                run_at = utcnow() + timedelta(seconds=policy.delay(job.attempts))
                log.info("job %s (%s) will retry: %s", job.id, job.task, message)
                await repository.reschedule(session, job, run_at=run_at, error=message, count=True)

    async def _give_up(self, session: AsyncSession, job: ClaimedJob, message: str) -> None:
        on_give_up = self.registry.get(job.task).on_give_up
        if on_give_up is not None:
            await on_give_up(session, job.payload, message)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self._running:
                continue
            until = utcnow() + timedelta(seconds=self.lease_seconds)
            with contextlib.suppress(Exception):
                async with self.resources.db.transaction() as session:
                    await repository.extend_leases(
                        session, list(self._running.values()), until=until
                    )

    async def _drain(self) -> None:
        while self._running:
            await asyncio.sleep(0.01)
