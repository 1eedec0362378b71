"""What woke a worker's claim loop since it last looked, and how long it may sleep.

A commit that enqueued jobs due now names their tasks: the loop claims those directly,
with no due-jobs probe first, and a wake-up for tasks it does not run never wakes it. A
commit that enqueued jobs due later names when: the loop's sleep ends then. What no
commit announces (a freed slot of a full lane, a job's lock key freed, a notification
without a task, a jobs' lease running out, another process's jobs on SQLite) asks for a
probe, or is found by the one a poll interval makes at the latest. Wake-ups arriving
while the loop runs fold into one more round, which probes: its claims may have taken
their jobs already (under load, blind claims were write transactions finding nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.kit.clock import utcnow


@dataclass(frozen=True)
class Woken:
    """What one round of the claim loop has to do."""

    #: Tasks announced due now, of this worker's.
    tasks: frozenset[str]
    #: Whether to probe for every due job instead (something no commit announced).
    probe: bool


class Wakeups:
    """A worker's pending wake-ups: the tasks announced due, a probe asked for, the next
    job due later that it knows of."""

    def __init__(self, runs: Callable[[str], bool]) -> None:
        self._runs = runs
        self._event = asyncio.Event()
        self._tasks: set[str] = set()
        self._probe = False
        self._in_round = False  # between take() and sleep(): the loop claims
        self._deadline: datetime | None = None  # when the current sleep ends
        #: The earliest job due later of this worker's tasks that it knows of (a probe
        #: reads it, commits announce earlier ones); None: none known.
        self.next_due: datetime | None = None

    def due(self, tasks: Iterable[str]) -> None:
        """Jobs of ``tasks`` are due now (a commit enqueued them)."""
        mine = {task for task in tasks if self._runs(task)}
        if mine:
            self._tasks |= mine
            # Committed while the loop claims: that claim may have taken them already.
            self._probe = self._probe or self._in_round
            self._event.set()

    def later(self, task: str, run_at: datetime) -> None:
        """A job of ``task`` falls due at ``run_at``: sleep no longer than that."""
        if self._runs(task):
            self.note_due(run_at)
            if self._deadline is not None and run_at < self._deadline:
                self._event.set()  # the loop re-sleeps, until then

    def note_due(self, run_at: datetime | None) -> None:
        """Keep ``run_at`` as :attr:`next_due` if it is earlier (a probe's reading: a
        commit announced meanwhile is kept too)."""
        if run_at is not None and (self.next_due is None or run_at < self.next_due):
            self.next_due = run_at

    def probe(self) -> None:
        """Something may be due that no wake-up named: look for every due job."""
        self._probe = True
        self._event.set()

    def take(self) -> Woken:
        """What woke the loop since the last call, cleared: a wake-up after this one is
        kept for the next round, so the sleep cannot miss it."""
        self._event.clear()
        now = utcnow()
        timer = self.next_due is not None and self.next_due <= now
        woken = Woken(frozenset(self._tasks), self._probe or timer)
        self._tasks.clear()
        self._probe, self._in_round = False, True
        return woken

    async def sleep(self, seconds: float) -> None:
        """Wait for a wake-up, at most ``seconds`` and never past :attr:`next_due`; a
        sleep that runs out asks for a probe (a poll, or a job falling due)."""
        self._in_round = False
        self._deadline = utcnow() + timedelta(seconds=seconds)
        if self.next_due is not None:
            self._deadline = min(self._deadline, self.next_due)
        timeout = max(0.0, (self._deadline - utcnow()).total_seconds())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)
                return
            self.probe()
        finally:
            self._deadline = None
