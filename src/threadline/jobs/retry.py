"""Retry policies and the exceptions a task raises to steer them."""

from __future__ import annotations

import random
from dataclasses import dataclass


class RetryLater(Exception):
    """Run this job again after ``delay`` seconds without counting it as an error."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = delay


class PermanentJobError(Exception):
    """The job can never succeed; stop retrying and mark it failed."""


class LeaseLost(Exception):
    """Another worker took the job over; this worker's transaction must not commit."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, up to ``max_attempts`` runs in all."""

    max_attempts: int = 10
    base_delay: float = 0.5
    max_delay: float = 300.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        """Seconds to wait before the run after attempt number ``attempt`` (1-based)."""
        raw = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return float(raw * (1 + random.uniform(-self.jitter, self.jitter)))
