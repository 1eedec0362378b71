"""The task registry: task names, their handlers and their retry policies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.context import BatchContext, JobContext
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.wakeups import Wakeups

Handler = Callable[[JobContext], Awaitable[None]]
#: A batch task's handler: up to ``batch_size`` jobs of the task at once.
BatchHandler = Callable[[BatchContext], Awaitable[None]]
#: Called in the transaction that marks a job failed for good: ``(session, payload, error)``.
GiveUp = Callable[[AsyncSession, dict[str, Any], str], Awaitable[None]]
#: Which of the worker's slot pools runs a task: quick internal work, slow external calls,
#: or model calls (long waits on a provider that use no CPU: many slots, so a thousand
#: conversations thinking at once do not queue behind each other).
Lane = Literal["fast", "slow", "model"]
LANES: tuple[Lane, ...] = ("fast", "slow", "model")


@dataclass(frozen=True)
class Task:
    """A registered task."""

    name: str
    handler: Handler
    policy: RetryPolicy
    on_give_up: GiveUp | None = None
    lane: Lane = "fast"
    #: Set for a batch task: the worker claims up to ``batch_size`` jobs and runs them at once.
    batch_handler: BatchHandler | None = None
    batch_size: int = 1


class Registry:
    """Maps dotted task names to handlers; also wakes in-process workers."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._wakers: list[Wakeups] = []

    def task(
        self,
        name: str,
        *,
        policy: RetryPolicy | None = None,
        on_give_up: GiveUp | None = None,
        lane: Lane = "fast",
    ) -> Callable[[Handler], Handler]:
        """Decorator registering ``handler`` under ``name``.

        ``on_give_up`` lets the task leave its subject in a settled state when retries
        run out, in the same transaction that marks the job failed. ``lane`` picks the
        worker's slot pool: ``slow`` for work that waits on the outside world, so it can
        never take the slots of timers and deliveries.
        """

        def register(handler: Handler) -> Handler:
            self._tasks[name] = Task(name, handler, policy or RetryPolicy(), on_give_up, lane)
            return handler

        return register

    def batch_task(
        self,
        name: str,
        *,
        batch_size: int,
        policy: RetryPolicy | None = None,
        on_give_up: GiveUp | None = None,
        lane: Lane = "fast",
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Decorator registering a batch ``handler`` under ``name``.

        The worker claims up to ``batch_size`` due jobs of the task in one claim and runs
        them as one handler call in one slot of ``lane``. Each job keeps its own lease,
        retries and give-up, as for :meth:`task` (see :class:`BatchContext`).
        """

        def register(handler: BatchHandler) -> BatchHandler:
            single = _as_single(handler)
            self._tasks[name] = Task(
                name, single, policy or RetryPolicy(), on_give_up, lane, handler, batch_size
            )
            return handler

        return register

    def batch(self, name: str) -> Task | None:
        """The batch task called ``name``, or None if it is not one."""
        task = self._tasks.get(name)
        return task if task is not None and task.batch_handler is not None else None

    def get(self, name: str) -> Task:
        """The task called ``name``; KeyError for an unknown one."""
        return self._tasks[name]

    def find(self, name: str) -> Task | None:
        """The task called ``name``, or None if this process does not know it."""
        return self._tasks.get(name)

    def names(self, lane: Lane | None = None, *, batch: bool | None = None) -> list[str]:
        """The registered task names (of one lane, or all; only batch ones, or none of them)."""
        return [
            t.name
            for t in self._tasks.values()
            if (lane is None or t.lane == lane)
            and (batch is None or batch == (t.batch_handler is not None))
        ]

    def lane(self, name: str) -> Lane:
        """The lane of ``name`` (``fast`` if it is not registered here)."""
        task = self._tasks.get(name)
        return task.lane if task else "fast"

    def policy(self, name: str) -> RetryPolicy:
        """The retry policy of ``name`` (the default one if it is not registered here)."""
        task = self._tasks.get(name)
        return task.policy if task else RetryPolicy()

    def add_waker(self, waker: Wakeups) -> None:
        """Register a worker's wake-ups, told whenever a transaction that enqueued a job
        commits (once, however often it is added)."""
        if waker not in self._wakers:
            self._wakers.append(waker)

    def remove_waker(self, waker: Wakeups) -> None:
        """Forget a waker added by :meth:`add_waker`."""
        if waker in self._wakers:
            self._wakers.remove(waker)

    def wake(
        self,
        tasks: Collection[str] | None = None,
        *,
        later: Mapping[str, datetime] | None = None,
    ) -> None:
        """Tell every in-process worker that jobs of ``tasks`` are due now and when the
        earliest job of each task of ``later`` falls due; with neither, that something
        may be due (each probes for it)."""
        for waker in self._wakers:
            if tasks is None and later is None:
                waker.probe()
                continue
            waker.due(tasks or ())
            for task, run_at in (later or {}).items():
                waker.later(task, run_at)


def _as_single(handler: BatchHandler) -> Handler:
    """A batch handler run on one job: its failure raises, as a single task's would."""

    async def single(context: JobContext) -> None:
        await handler(BatchContext(jobs=[context], resources=context.resources))

    return single


registry = Registry()
