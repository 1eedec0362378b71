"""The task registry: task names, their handlers and their retry policies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.retry import RetryPolicy

if TYPE_CHECKING:
    from threadline.jobs.worker import JobContext

Handler = Callable[["JobContext"], Awaitable[None]]
#: Called in the transaction that marks a job failed for good: ``(session, payload, error)``.
GiveUp = Callable[[AsyncSession, dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class Task:
    """A registered task."""

    name: str
    handler: Handler
    policy: RetryPolicy
    on_give_up: GiveUp | None = None


class Registry:
    """Maps dotted task names to handlers; also wakes in-process workers."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._wakers: list[asyncio.Event] = []

    def task(
        self, name: str, *, policy: RetryPolicy | None = None, on_give_up: GiveUp | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator registering ``handler`` under ``name``.

        ``on_give_up`` lets the task leave its subject in a settled state when retries
        run out, in the same transaction that marks the job failed.
        """

        def register(handler: Handler) -> Handler:
            self._tasks[name] = Task(name, handler, policy or RetryPolicy(), on_give_up)
            return handler

        return register

    def get(self, name: str) -> Task:
        """The task called ``name``; KeyError for an unknown one."""
        return self._tasks[name]

    def policy(self, name: str) -> RetryPolicy:
        """The retry policy of ``name`` (the default one if it is not registered here)."""
        task = self._tasks.get(name)
        return task.policy if task else RetryPolicy()

    def add_waker(self, waker: asyncio.Event) -> None:
        """Register an event set whenever a transaction that enqueued a job commits."""
        self._wakers.append(waker)

    def remove_waker(self, waker: asyncio.Event) -> None:
        """Forget a waker added by :meth:`add_waker`."""
        if waker in self._wakers:
            self._wakers.remove(waker)

    def wake(self) -> None:
        """Wake every in-process worker."""
        for waker in self._wakers:
            waker.set()


registry = Registry()
