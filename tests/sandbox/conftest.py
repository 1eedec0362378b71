"""Fixtures for the sandbox tests: a fresh app per test, an authorised client, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app),
        base_url="http://sandbox",
        headers={"Authorization": "Bearer sandbox-token"},
    ) as http:
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
