"""The worker: claims due jobs per lane, runs them concurrently, keeps their leases alive.

Each lane (``fast``: timers, inbox turns, deliveries; ``slow``: external calls; ``model``:
agents' model calls) has its own slots, so slow calls can never take every slot. One claim
loop serves every lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs import batch as batches
from threadline.jobs import metrics, repository
from threadline.jobs.context import BatchContext, JobContext
from threadline.jobs.listener import JobListener
from threadline.jobs.registry import LANES, Lane, Registry, Task, registry
from threadline.jobs.repository import ClaimedJob
from threadline.jobs.retry import LeaseLost, PermanentJobError, RetryLater
from threadline.jobs.wakeups import Wakeups, Woken
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources

__all__ = ["JobContext", "Worker"]  # JobContext lives in jobs.context; kept here for importers

log = logging.getLogger("threadline.worker")


class Worker:
    """Runs jobs from the database queue until stopped."""

    def __init__(self, resources: Resources, *, tasks: Registry = registry) -> None:
        self.resources = resources
        self.registry = tasks
        settings = resources.settings
        self.concurrency = settings.worker_concurrency
        self.slow_concurrency = settings.worker_slow_concurrency
        self.model_concurrency = settings.worker_model_concurrency
        self.poll_seconds = settings.worker_poll_seconds
        self.lease_seconds = settings.job_lease_seconds
        self.unknown_task_grace = settings.unknown_task_grace_seconds
        self._running: dict[int, ClaimedJob] = {}
        self._lanes: dict[int, Lane] = {}  # the slots in use, by slot number
        self._slots = itertools.count()
        self._batch_of: dict[int, BatchContext] = {}
        self._contexts: dict[int, JobContext] = {}
        self._handles: dict[int, asyncio.Task[None]] = {}
        self._settling: set[int] = set()
        self._wakeups = Wakeups(runs=lambda name: self.registry.find(name) is not None)
        # Lanes whose slots all filled since their last freed one: a due job may have
        # been left unclaimed, so the next freed slot probes.
        self._full: set[Lane] = set()
        self._probed_at = -float("inf")  # time.monotonic() of the last due-jobs probe
        self._stopping = asyncio.Event()
        self._stop_heartbeat = asyncio.Event()

    async def run(self) -> None:
        """Claim and run jobs until :meth:`stop` is called."""
        # This process's commits wake the worker whichever registry it runs.
        wakers = {id(tasks): tasks for tasks in (self.registry, registry)}.values()
        for tasks in wakers:
            tasks.add_waker(self._wakeups)
        listener = JobListener(self.resources.db, self._wakeups)
        await listener.start()
        heartbeat = asyncio.create_task(self._heartbeat())
        log.info("worker ready: claiming jobs", extra={"woken_by_commits": listener.listening})
        try:
            while not self._stopping.is_set():
                # Taken before claiming: a commit or a finished job after this point
                # wakes the sleep below again, so it cannot miss it.
                await self._claim_woken(self._wakeups.take())
                await self._wakeups.sleep(self._idle_seconds())
        finally:
            for tasks in wakers:
                tasks.remove_waker(self._wakeups)
            await self._drain()  # the heartbeat keeps the draining jobs' leases alive
            await self._end_heartbeat(heartbeat)
            await listener.stop()

    def stop(self) -> None:
        """Ask the loop to finish the jobs it holds and return."""
        self._stopping.set()
        self._wakeups.probe()

    async def run_until_idle(self, *, timeout: float = 30.0) -> None:
        """Run due jobs until none is left (tests and the demo use this)."""
        async with asyncio.timeout(timeout):
            while True:
                # A claim racing a job's commit can miss what it enqueued: stop only
                # after a claim that started with nothing running finds nothing.
                busy_before = bool(self._running)
                idle = not await self._claim_all() and not busy_before and not self._running
                if idle and not await self.reap():
                    return
                await asyncio.sleep(0.005)

    def _capacity(self, lane: Lane) -> int:
        if lane == "fast":
            return self.concurrency
        return self.slow_concurrency if lane == "slow" else self.model_concurrency

    def _free(self, lane: Lane) -> int:
        return self._capacity(lane) - sum(1 for held in self._lanes.values() if held == lane)

    async def _claim_woken(self, woken: Woken) -> int:
        """Claim what woke the loop: the announced tasks directly, or, when something no
        one announced may be due (or a poll interval passed), whatever a probe finds."""
        if woken.probe or time.monotonic() - self._probed_at >= self.poll_seconds:
            return await self._claim_all()
        return await self._claim_due(set(woken.tasks))

    async def _claim_all(self) -> int:
        return await self._claim_due(await self._due_tasks())

    async def _claim_due(self, due: set[str]) -> int:
        claimed = 0
        for lane in LANES:
            for name in self.registry.names(lane, batch=True):
                if name in due:
                    claimed += await self._claim_batch(lane, self.registry.get(name))
            claimed += await self._claim_singles(lane, due)
        return claimed

    async def _due_tasks(self) -> set[str]:
        """The tasks of lanes with free slots that have a job due: one read, so that a
        loop claims (a write transaction each) only what is there to claim. The same
        read notes when the next of their jobs falls due, for the sleep after the loop."""
        self._probed_at = time.monotonic()
        self._wakeups.next_due = None  # what this read misses is announced meanwhile
        tasks = self._tasks_with_free_slots()
        if not tasks:
            return set()
        now = utcnow()
        async with self.resources.db.priority_read() as session:
            due, later = await repository.due_tasks(session, now=now, tasks=tasks)
        self._wakeups.note_due(later)
        return due

    def _tasks_with_free_slots(self) -> list[str]:
        return [
            name for lane in LANES if self._free(lane) > 0 for name in self.registry.names(lane)
        ]

    async def _claim(self, tasks: list[str], limit: int) -> list[ClaimedJob]:
        # Ahead of the jobs' own writes (a thousand model calls applying their answers):
        # a due timer is claimed on time. The loop claims one lane at a time, so the
        # claims never crowd the jobs out.
        async with self.resources.db.priority() as session:
            return await repository.claim(
                session, now=utcnow(), limit=limit, lease_seconds=self.lease_seconds, tasks=tasks
            )

    async def _claim_singles(self, lane: Lane, due: set[str]) -> int:
        free = self._free(lane)
        tasks = [name for name in self.registry.names(lane, batch=False) if name in due]
        if free <= 0 or not tasks:
            return 0
        jobs = await self._claim(tasks, free)
        for job in jobs:
            self._hold(lane, [job], partial(self._run_one, job, lane))
        return len(jobs)

    async def _claim_batch(self, lane: Lane, task: Task) -> int:
        """Claim up to ``batch_size`` jobs of a batch task and run them in one slot."""
        if self._free(lane) <= 0:
            return 0
        jobs = await self._claim([task.name], task.batch_size)
        if jobs:
            self._hold(lane, jobs, partial(self._run_batch, task, jobs, lane))
        if len(jobs) == task.batch_size and self._free(lane) > 0:
            self._wakeups.probe()  # a full batch: more may be due, and a slot is free
        return len(jobs)

    def _hold(
        self, lane: Lane, jobs: list[ClaimedJob], run: Callable[[int], Coroutine[Any, Any, None]]
    ) -> None:
        """Take a slot of ``lane`` for ``jobs`` and start ``run(slot)``."""
        slot = next(self._slots)
        self._lanes[slot] = lane
        if self._free(lane) <= 0:
            self._full.add(lane)
        handle = asyncio.create_task(run(slot))
        for job in jobs:
            self._running[job.id], self._handles[job.id] = job, handle
            self._contexts.pop(job.id, None)
            self._batch_of.pop(job.id, None)
            self._settling.discard(job.id)

    def _release(self, jobs: list[ClaimedJob], slot: int) -> None:
        """Free the slot; forget the jobs unless claimed again meanwhile (a batch member
        retried early can be running again, in another batch, as this one ends).

        The loop probes after it only if a job may have become claimable that no commit
        announced: the lane was full (a due job may have been left unclaimed), or a job
        held a lock key (the next job of that key waits on it). Otherwise every job due
        now was announced, and one falling due later ends the loop's sleep.
        """
        lane = self._lanes.pop(slot, None)
        for job in jobs:
            if self._running.get(job.id) is not job:
                continue
            for held in (self._running, self._contexts, self._handles, self._batch_of):
                held.pop(job.id, None)
            self._settling.discard(job.id)
        if lane is not None and (lane in self._full or any(job.lock_key for job in jobs)):
            self._full.discard(lane)
            self._wakeups.probe()

    def _idle_seconds(self) -> float:
        """How long to sleep at most: until the next poll, one poll interval after the
        last due-jobs probe (the sleep also ends when the next known job falls due).

        A job already due but not claimed (all slots busy, or its lock held) is not a
        reason to spin: a freed slot or lock wakes the loop, other processes' within a
        poll.
        """
        return max(0.0, self.poll_seconds - (time.monotonic() - self._probed_at))

    async def _run_one(self, job: ClaimedJob, lane: Lane, slot: int) -> None:
        context = JobContext(job=job, resources=self.resources)
        self._contexts[job.id] = context
        started, outcome = time.monotonic(), None
        metrics.job_started(job.task, job.run_at, utcnow())
        try:
            outcome = await self._handle(context)
        except asyncio.CancelledError:
            if not context.lease_lost:
                raise
            outcome = "lease_lost"  # cancelled by the heartbeat: another worker owns it
        except Exception as error:
            outcome = await self._record_failure(context, error)
        finally:
            self._release([job], slot)
            if outcome is not None:
                self._log_done(job, lane, outcome, time.monotonic() - started)

    async def _run_batch(self, task: Task, jobs: list[ClaimedJob], lane: Lane, slot: int) -> None:
        assert task.batch_handler is not None
        contexts = [JobContext(job=job, resources=self.resources) for job in jobs]
        batch = BatchContext(contexts, self.resources, record_failure=self._record_failure)
        started, now = time.monotonic(), utcnow()
        for context in contexts:
            self._contexts[context.job.id], self._batch_of[context.job.id] = context, batch
            metrics.job_started(context.job.task, context.job.run_at, now)
        try:
            await batches.run_batch(task.batch_handler, batch)
        finally:
            self._release(jobs, slot)
            for context in contexts:
                if (outcome := batches.outcome(context)) is not None:
                    self._log_done(context.job, lane, outcome, time.monotonic() - started)

    async def _handle(self, context: JobContext) -> str:
        task = self.registry.find(context.job.task)
        if task is None:  # the claim only takes known tasks; never guess a handler
            raise PermanentJobError(f"unknown task {context.job.task!r}")
        try:
            await task.handler(context)
            if not context.finished:
                async with self.resources.db.transaction() as session:
                    await context.finish(session)
        except LeaseLost:
            job = context.job
            log.warning("job %s (%s) lost its lease; another worker owns it", job.id, job.task)
            return "lease_lost"
        return "finished"

    def _log_done(self, job: ClaimedJob, lane: Lane, outcome: str, seconds: float) -> None:
        metrics.job_ended(job.task, outcome, seconds)
        extra = {
            "task": job.task,
            "job_id": job.id,
            "execution_id": job.payload.get("execution_id"),
            "duration_ms": round(seconds * 1000, 1),
            "outcome": outcome,
            "lane": lane,
        }
        log.info("job done", extra=extra)

    async def _record_failure(self, context: JobContext, error: Exception) -> str:
        """Retry or give up, if this worker still owns the job; returns the outcome."""
        job = context.job
        if context.lease_lost:
            return "lease_lost"
        self._settling.add(job.id)
        policy = self.registry.policy(job.task)
        message = f"{type(error).__name__}: {error}"
        async with self.resources.db.transaction() as session:
            if isinstance(error, RetryLater):
                run_at = utcnow() + timedelta(seconds=error.delay)
                owned = await repository.reschedule(
                    session, job, run_at=run_at, error=None, count=False
                )
                outcome = "retry"
            elif isinstance(error, PermanentJobError) or job.attempts >= job.max_attempts:
                owned = await repository.mark_failed(session, job, message)
                if owned:
                    log.error("job %s (%s) failed for good: %s", job.id, job.task, message)
                    await self._give_up(session, job, message)
                outcome = "failed"
            else:
                run_at = utcnow() + timedelta(seconds=policy.delay(job.attempts))
                owned = await repository.reschedule(
                    session, job, run_at=run_at, error=message, count=True
                )
                if owned:
                    log.info("job %s (%s) will retry: %s", job.id, job.task, message)
                outcome = "retry"
        if owned and outcome == "retry":
            self._wakeups.later(job.task, run_at)  # the loop sleeps no longer than that
        return outcome if owned else "lease_lost"

    async def _give_up(self, session: AsyncSession, job: ClaimedJob, message: str) -> None:
        task = self.registry.find(job.task)
        if task is not None and task.on_give_up is not None:
            await task.on_give_up(session, job.payload, message)

    async def reap(self) -> int:
        """Fail what nobody will run: jobs whose last attempt lost its worker, and jobs of
        tasks no worker has claimed within the grace period. Returns how many it failed.
        """
        now, known = utcnow(), self.registry.names()
        created_before = now - timedelta(seconds=self.unknown_task_grace)
        async with self.resources.db.read() as session:
            exhausted = await repository.exhausted(session, now=now, tasks=known) if known else []
            unknown = await repository.unknown_overdue(
                session, now=now, known=known, created_before=created_before
            )
        reasons = [(job, _exhausted_reason(job)) for job in exhausted]
        reasons += [(job, self._unknown_reason(job)) for job in unknown]
        failed = 0
        for job, reason in reasons:
            failed += await self._fail_abandoned(job, reason)
        return failed

    def _unknown_reason(self, job: ClaimedJob) -> str:
        return (
            f"unknown task {job.task!r}: no worker that knows it claimed it within "
            f"{self.unknown_task_grace:g}s of its creation"
        )

    async def _fail_abandoned(self, job: ClaimedJob, reason: str) -> bool:
        try:
            failed = await self._fail_unheld(job, reason, give_up=True)
        except Exception:
            # A hook that always raises must not keep the job from ever being settled.
            log.exception(
                "give-up hook of job %s (%s) failed; failing it without", job.id, job.task
            )
            failed = await self._fail_unheld(job, reason, give_up=False)
        if failed:
            log.error("job %s (%s) failed for good: %s", job.id, job.task, reason)
            self._log_done(job, self.registry.lane(job.task), "failed", 0.0)
        return failed

    async def _fail_unheld(self, job: ClaimedJob, reason: str, *, give_up: bool) -> bool:
        async with self.resources.db.transaction() as session:
            if not await repository.fail_abandoned(session, job, reason, now=utcnow()):
                return False  # another worker claimed or failed it meanwhile
            if give_up:
                await self._give_up(session, job, reason)
        return True

    async def _end_heartbeat(self, heartbeat: asyncio.Task[None]) -> None:
        # Stopped between beats rather than cancelled: a beat cancelled mid-transaction
        # could leave a connection (an aiosqlite thread) open and the process hanging.
        self._stop_heartbeat.set()
        await asyncio.wait({heartbeat}, timeout=self.lease_seconds)
        heartbeat.cancel()

    async def _heartbeat(self) -> None:
        # Four beats per lease: a lease survives three missed beats, and a dead worker's
        # jobs are taken over one lease after its last beat. The reaper runs beside, on
        # the pool: a slow reap never delays a beat.
        reaping: asyncio.Task[None] | None = None
        while not self._stop_heartbeat.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_heartbeat.wait(), self.lease_seconds / 4)
                break
            try:
                await self._beat()
            except Exception as error:  # the database may be away for a moment
                log.warning("heartbeat failed: %s", error)
            if reaping is None or reaping.done():
                reaping = asyncio.create_task(self._reap_quietly())
        if reaping is not None:
            await reaping

    async def _reap_quietly(self) -> None:
        try:
            await self.reap()
        except Exception as error:  # the database may be away for a moment
            log.warning("reaping failed: %s", error)

    async def _beat(self) -> None:
        held = list(self._running.values())
        if not held:
            return
        until = utcnow() + timedelta(seconds=self.lease_seconds)
        # A connection of its own, ahead of other writers: a busy pool (a thousand model
        # calls recording their answers) must not make this worker lose its leases.
        async with self.resources.db.priority() as session:
            lost = await repository.extend_leases(session, held, until=until)
        for job_id in lost:
            self._lose(job_id)

    def _lose(self, job_id: int) -> None:
        """Stop a job another worker took over: no more side effects from this one."""
        context, handle = self._contexts.get(job_id), self._handles.get(job_id)
        if context is None or handle is None or context.finished or job_id in self._settling:
            return  # it ended (or is recording its end) meanwhile: nothing was lost
        context.lease_lost = True
        if job_id in self._batch_of:
            # The batch skips it at its next ownership check; the others carry on.
            log.warning("job %s (%s) lost its lease; its batch skips it", job_id, context.job.task)
            return
        log.warning("job %s (%s) lost its lease; stopping it", job_id, context.job.task)
        handle.cancel()

    async def _drain(self) -> None:
        while self._running:
            await asyncio.sleep(0.01)


def _exhausted_reason(job: ClaimedJob) -> str:
    return f"its worker was lost during the last of {job.max_attempts} attempts"
