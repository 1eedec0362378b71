"""Fixtures of the inbound tests: a running worker, and the sandbox webhooking the platform."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources


@pytest.fixture
async def worker(resources: Resources) -> AsyncIterator[Worker]:
    """An embedded worker running for the whole test."""
    running = Worker(resources)
    task = asyncio.create_task(running.run())
    try:
        yield running
    finally:
        running.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def control(sandbox_url: str, live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The shared test sandbox's control plane, its webhooks (and quick statuses) going to
    the live platform during the test; reset afterwards."""
    async with httpx.AsyncClient(base_url=sandbox_url + "/_sandbox", timeout=10) as http:
        settings = {
            "webhook_url": f"{live_url}/webhooks/whatsapp",
            "status_delays_ms": {"sent": 0, "delivered": 20, "read": None},
        }
        (await http.post("/config", json=settings)).raise_for_status()
        try:
            yield http
        finally:
            await http.post("/reset")
