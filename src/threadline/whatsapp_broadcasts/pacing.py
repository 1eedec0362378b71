"""The sender's pace: a token bucket at the broadcast's rate that halves on throttling.

Pure: the caller passes monotonic seconds in. The Graph API answering 130429 (the
number's throughput) or 131056 (one user's pair rate) halves the rate, down to a
sixteenth; every ``RECOVER_SECONDS`` without another, it grows back by a quarter, up to
the rate asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The most recipients queued in one transaction (an unlimited pace queues this many).
BATCH_MAX = 200
MIN_FACTOR = 1 / 16
RECOVER_SECONDS = 2.0
#: How far behind the bucket lets the sender catch up (a slow transaction, a lock wait).
BURST_SECONDS = 0.5


@dataclass
class Pace:
    """How many recipients may be queued now; ``rate`` None is unlimited.

    A tick of 0.2 s queues 16 recipients at 80/s: the outbox delivers them as one batch
    of lines, which costs less per message than four batches of four.
    """

    rate: float | None
    started: float
    tick: float = 0.2
    factor: float = 1.0
    tokens: float = field(default=0.0)
    updated: float = field(default=0.0)
    recovered: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.updated = self.recovered = self.started

    @property
    def current(self) -> float | None:
        """The rate now (after any slowing down)."""
        return None if self.rate is None else self.rate * self.factor

    def take(self, now: float) -> int:
        """Recipients to queue now (whole tokens taken from the bucket)."""
        self._recover(now)
        rate = self.current
        if rate is None:
            return BATCH_MAX
        burst = max(1.0, rate * BURST_SECONDS)
        self.tokens = min(burst, self.tokens + (now - self.updated) * rate)
        self.updated = now
        taken = min(int(self.tokens), BATCH_MAX)
        self.tokens -= taken
        return taken

    def give_back(self, unused: int) -> None:
        """Tokens taken but not used (fewer recipients were left)."""
        self.tokens += unused

    def wait(self) -> float:
        """Seconds until the next whole token (0 for an unlimited pace)."""
        rate = self.current
        if rate is None:
            return 0.0
        return max(self.tick, (1 - self.tokens) / rate)

    def throttled(self, now: float) -> None:
        """The Graph API said too fast: halve the rate (not below a sixteenth)."""
        self.factor = max(MIN_FACTOR, self.factor / 2)
        self.recovered = now
        self.tokens = min(self.tokens, 0.0)

    def _recover(self, now: float) -> None:
        while self.factor < 1.0 and now - self.recovered >= RECOVER_SECONDS:
            self.factor = min(1.0, self.factor * 1.25)
            self.recovered += RECOVER_SECONDS
