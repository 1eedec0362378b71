"""Fixtures for the sandbox tests: a fresh app per test, an authorised client, a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sandbox_receiver import Receiver

from support import free_port
from threadline.sandbox import ManualClock, SandboxState, create_sandbox_app


@pytest.fixture
def sandbox_app() -> FastAPI:
    return create_sandbox_app()


@pytest.fixture
def state(sandbox_app: FastAPI) -> SandboxState:
    sandbox: SandboxState = sandbox_app.state.sandbox
    return sandbox


@pytest.fixture
def clock(state: SandboxState) -> ManualClock:
    fake = ManualClock()
    state.clock = fake
    return fake


@pytest.fixture
async def client(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # The lifespan owns the webhook dispatcher, as it does when uvicorn serves the app.
    async with (
        sandbox_app.router.lifespan_context(sandbox_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox_app),
            base_url="http://sandbox",
            headers={"Authorization": "Bearer sandbox-token"},
        ) as http,
    ):
        yield http


def _check_graph_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """Assert ``response`` is a Graph validation error envelope; return its ``error``."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException"
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert isinstance(error["error_data"]["details"], str) and error["error_data"]["details"]
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    return error


@pytest.fixture
def graph_error() -> Callable[[httpx.Response, int, int], dict[str, Any]]:
    return _check_graph_error


@pytest.fixture(scope="session")
async def receiver_server() -> AsyncIterator[Receiver]:
    """One webhook receiver for the session, on a free local port."""
    receiver = Receiver()
    port = free_port()
    config = uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    receiver.url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
    yield receiver
    server.should_exit = True
    await task


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    """The receiver, emptied for this test."""
    receiver_server.reset()
    return receiver_server


@pytest.fixture
async def hooked(client: httpx.AsyncClient, receiver: Receiver) -> Receiver:
    """The sandbox sends its webhooks to ``receiver``, retrying fast."""
    settings = {"webhook_url": receiver.url, "webhook_retry_delays_ms": [10, 20, 40]}
    response = await client.post("/_sandbox/config", json=settings)
    assert response.status_code == 200, response.text
    return receiver
