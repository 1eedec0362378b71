"""Fixtures of the durability tests: a real HTTP server of the app, and subprocess hygiene."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from durability_support import Processes, free_port

from threadline.app import create_app
from threadline.config import Settings
from threadline.kit.resources import Resources


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    """Starts subprocesses for a test and kills every one still alive when it ends."""
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        await started.cleanup()


@pytest.fixture
async def live_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """The API served by a real uvicorn server in this process (no embedded worker)."""
    app = create_app(settings, resources)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
