"""A clock tests move: what ``threadline.kit.clock.utcnow`` answers in setup link tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class MovableClock:
    """The time ``clock.utcnow()`` answers: real time plus an offset tests add to."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        """The moved time."""
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.offset += delta
