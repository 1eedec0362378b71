"""What wakes the worker's claim loop, and what it does then: a commit's announced tasks
are claimed without a due-jobs probe; what no commit announces is still found."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.jobs.listener import JobListener
from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.retry import RetryLater
from threadline.jobs.wakeups import Wakeups, Woken
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.db import Database
from threadline.kit.resources import Resources
from threadline.models import Job

#: Long enough that nothing in these tests is found by a poll.
NO_POLL = 60.0


class WorkerSql:
    """The worker's due-jobs probes and claims, counted on every engine of a database."""

    def __init__(self, db: Database) -> None:
        self.probes = 0
        self.claims = 0
        engines = {id(e.sync_engine): e.sync_engine for e in _engines(db)}
        for engine in engines.values():
            event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "SELECT DISTINCT jobs.task" in statement:
            self.probes += 1
        elif statement.lstrip().startswith("UPDATE jobs SET status"):
            self.claims += 1


def _engines(db: Database) -> list[AsyncEngine]:
    return [db.engine, db.read_engine, db.priority_engine]


class Recorder:
    """Handlers that note when each job ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, float]] = []

    def handler(
        self, name: str, hold: asyncio.Event | None = None
    ) -> Callable[[JobContext], Coroutine[Any, Any, None]]:
        async def run(ctx: JobContext) -> None:
            self.ran.append((ctx.job.payload.get("n", name), time.monotonic()))
            if hold is not None:
                await hold.wait()

        return run

    async def until(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.ran) < count:
                await asyncio.sleep(0.005)


async def _started(resources: Resources, tasks: Registry) -> Worker:
    worker = Worker(resources, tasks=tasks)
    worker.poll_seconds = NO_POLL
    return worker


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Worker], Coroutine[Any, Any, None]]]:
    """Start a worker's loop (stopped at the end); returns once its first round (a
    probe) ended and it sleeps."""
    started: list[tuple[Worker, asyncio.Task[None]]] = []

    async def start(worker: Worker) -> None:
        task = asyncio.create_task(worker.run())
        started.append((worker, task))
        async with asyncio.timeout(5):
            while worker._probed_at == -float("inf") or worker._wakeups._deadline is None:
                await asyncio.sleep(0.005)

    yield start
    for worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, 10)


def _probes_asked(worker: Worker) -> list[str]:
    """Who asks the worker to probe, from now on (to tell why a probe happened)."""
    asked: list[str] = []
    probe = worker._wakeups.probe

    def noted() -> None:
        asked.append("".join(traceback.format_stack(limit=4)[:-1]))
        probe()

    worker._wakeups.probe = noted  # type: ignore[method-assign]
    return asked


async def add(resources: Resources, task: str, payload: dict[str, Any], **keys: Any) -> None:
    async with resources.db.transaction() as session:
        await enqueue(session, task, payload, **keys)


async def test_a_commit_s_job_is_claimed_without_a_probe(
    resources: Resources, running: Any
) -> None:
    tasks, recorder = Registry(), Recorder()
    tasks.task("test.hinted")(recorder.handler("hinted"))
    worker = await _started(resources, tasks)
    await running(worker)
    sql, asked = WorkerSql(resources.db), _probes_asked(worker)
    await add(resources, "test.hinted", {})
    await recorder.until(1)
    await asyncio.sleep(0.3)  # PostgreSQL's notification of the same commit comes too
    assert (sql.probes, sql.claims) == (0, 1), asked


async def test_a_commit_of_tasks_the_worker_does_not_run_costs_it_nothing(
    resources: Resources, running: Any
) -> None:
    tasks, recorder = Registry(), Recorder()
    tasks.task("test.mine")(recorder.handler("mine"))
    await running(await _started(resources, tasks))
    sql = WorkerSql(resources.db)
    await add(resources, "test.not_mine", {})
    await asyncio.sleep(0.3)
    assert (sql.probes, sql.claims) == (0, 0)


async def _insert_elsewhere(url: str, task: str) -> None:
    """A job committed on a connection of its own, without this process's wake-up: as
    another process enqueues it."""
    other = Database(url)
    now = utcnow()
    row = {"task": task, "payload": {}, "status": "queued", "run_at": now, "attempts": 0}
    row |= {"max_attempts": 3, "created_at": now}
    try:
        async with other.engine.begin() as connection:
            await connection.execute(insert(cast(Table, Job.__table__)), [row])
    finally:
        await other.dispose()


async def test_another_process_s_job_is_found(resources: Resources, running: Any) -> None:
    tasks, recorder = Registry(), Recorder()
    tasks.task("test.elsewhere")(recorder.handler("elsewhere"))
    worker = await _started(resources, tasks)
    if resources.db.is_sqlite:
        worker.poll_seconds = 0.2  # no cross-process wake-ups there: found by a poll
    await running(worker)
    started = time.monotonic()
    await _insert_elsewhere(resources.db.url, "test.elsewhere")
    await recorder.until(1, timeout=5)
    # On PostgreSQL the notification names the task: claimed at once, no poll.
    assert time.monotonic() - started < (1.0 if resources.db.is_sqlite else 0.5)


async def test_a_full_lane_claims_the_leftover_job_when_a_slot_frees(
    resources: Resources, running: Any
) -> None:
    tasks, recorder, hold = Registry(), Recorder(), asyncio.Event()
    tasks.task("test.held")(recorder.handler("held", hold))
    worker = await _started(resources, tasks)
    worker.concurrency = 1
    await running(worker)
    await add(resources, "test.held", {"n": 1})
    await add(resources, "test.held", {"n": 2})
    await recorder.until(1)
    await asyncio.sleep(0.2)
    assert [n for n, _ in recorder.ran] == [1]  # the one slot is taken
    hold.set()
    await recorder.until(2, timeout=2)


async def test_the_next_job_of_a_lock_key_runs_when_the_first_ends(
    resources: Resources, running: Any
) -> None:
    tasks, recorder = Registry(), Recorder()
    tasks.task("test.locked")(recorder.handler("locked"))
    await running(await _started(resources, tasks))
    async with resources.db.transaction() as session:
        for n in range(3):
            await enqueue(session, "test.locked", {"n": n}, lock_key="k")
    await recorder.until(3, timeout=2)
    assert [n for n, _ in recorder.ran] == [0, 1, 2]


async def test_a_job_due_later_runs_on_time_without_a_poll(
    resources: Resources, running: Any
) -> None:
    tasks, recorder = Registry(), Recorder()
    tasks.task("test.timer")(recorder.handler("timer"))
    await running(await _started(resources, tasks))
    started = time.monotonic()
    await add(resources, "test.timer", {}, run_at=utcnow() + timedelta(seconds=0.5))
    await recorder.until(1, timeout=3)
    [(_, ran_at)] = recorder.ran
    assert 0.45 <= ran_at - started < 0.9


async def test_a_retry_runs_on_time_without_a_poll(resources: Resources, running: Any) -> None:
    tasks, runs = Registry(), []

    async def twice(ctx: JobContext) -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            raise RetryLater(0.3)

    tasks.task("test.retried")(twice)
    await running(await _started(resources, tasks))
    await add(resources, "test.retried", {})
    async with asyncio.timeout(3):
        while len(runs) < 2:
            await asyncio.sleep(0.01)
    assert 0.28 <= runs[1] - runs[0] < 0.7


async def test_wake_ups_during_a_round_fold_into_one() -> None:
    wakeups = Wakeups(runs=lambda name: name != "other")
    wakeups.due(["a"])
    wakeups.due(["b", "other"])
    wakeups.due(["a"])
    first = wakeups.take()
    assert (first.tasks, first.probe) == (frozenset({"a", "b"}), False)
    wakeups.due(["b"])  # while the round claims: its claim may take that job already
    assert wakeups.take() == Woken(frozenset({"b"}), True)
    wakeups.due(["other"])  # not this worker's: the sleep is not cut short
    started = time.monotonic()
    await wakeups.sleep(0.1)
    assert time.monotonic() - started >= 0.09
    assert wakeups.take().probe  # a sleep that ran out probes (the poll)
    wakeups.probe()
    wakeups.due(["a"])
    assert wakeups.take() == Woken(frozenset({"a"}), True)
    assert wakeups.take() == Woken(frozenset(), False)


async def test_the_listener_names_other_connections_tasks_and_ignores_its_own(
    resources: Resources,
) -> None:
    if resources.db.is_sqlite:
        pytest.skip("SQLite has no cross-process notifications: workers poll")
    wakeups = Wakeups(runs=lambda name: name.startswith("test."))
    listener = JobListener(resources.db, wakeups)
    await listener.start()
    try:
        await add(resources, "test.own", {})  # on this database's own pool
        await asyncio.sleep(0.3)
        assert wakeups.take() == Woken(frozenset(), False)
        await _insert_elsewhere(resources.db.url, "test.elsewhere")
        async with asyncio.timeout(5):
            while not (woken := wakeups.take()).tasks:
                await asyncio.sleep(0.01)
        assert woken.tasks == {"test.elsewhere"}
    finally:
        await listener.stop()
