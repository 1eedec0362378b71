"""Fixtures of the inbound tests: the sandbox webhooking the platform, statuses quickly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


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
