"""Fixtures of the agent tools' tests: a local receiver and egress-checked clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from threadline.kit.egress import EgressPolicy, calls_client
from tool_receiver import Receiver, serve

LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=5)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A fresh receiver served on a free local port."""
    app = Receiver()
    server, task, app.base_url = await serve(app)
    yield app
    server.should_exit = True
    await task


@pytest.fixture
async def calls() -> AsyncIterator[httpx.AsyncClient]:
    """The egress-checked client, allowing loopback as the tests' settings do."""
    client = calls_client(EgressPolicy.build("127.0.0.0/8"), timeout=10.0, limits=LIMITS)
    yield client
    await client.aclose()


@pytest.fixture
async def strict_calls() -> AsyncIterator[httpx.AsyncClient]:
    """The egress-checked client under the default policy (loopback refused)."""
    client = calls_client(EgressPolicy(), timeout=10.0, limits=LIMITS)
    yield client
    await client.aclose()
