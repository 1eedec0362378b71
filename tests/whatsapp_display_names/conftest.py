"""Fixtures of the display name tests: the shared sandbox webhooking the live platform."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def control(sandbox_url: str, live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox's control plane, its webhooks going to the live platform; reset after."""
    async with httpx.AsyncClient(base_url=sandbox_url + "/_sandbox", timeout=10) as http:
        (await http.post("/reset")).raise_for_status()
        settings = {"webhook_url": f"{live_url}/webhooks/whatsapp"}
        (await http.post("/config", json=settings)).raise_for_status()
        try:
            yield http
        finally:
            await http.post("/reset")
