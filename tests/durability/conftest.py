"""Fixtures of the durability tests: subprocess hygiene (``live_url`` is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from durability_support import Processes


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    """Starts subprocesses for a test and kills every one still alive when it ends."""
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        await started.cleanup()
