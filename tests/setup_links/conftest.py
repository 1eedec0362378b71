"""A clock the setup link code reads (``threadline.kit.clock.utcnow``), moved by tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from setup_links_clock import MovableClock

from threadline.kit import clock as kit_clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MovableClock]:
    """Moves the time seen by code that calls ``threadline.kit.clock.utcnow()``."""
    moved = MovableClock()
    monkeypatch.setattr(kit_clock, "utcnow", moved.now)
    yield moved
