"""Fixtures of the API tests: a real HTTP server that webhook and function nodes call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from http_stub import HttpStub

from support import free_port


@pytest.fixture(scope="session")
async def http_stub_server() -> AsyncIterator[HttpStub]:
    """One stub server for the session, on a free local port."""
    stub = HttpStub()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(stub, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    stub.base_url = f"http://127.0.0.1:{port}"
    yield stub
    server.should_exit = True
    await task


@pytest.fixture
def http_stub(http_stub_server: HttpStub) -> Iterator[HttpStub]:
    """The stub server, with no recorded requests and no handlers."""
    http_stub_server.reset()
    yield http_stub_server
