"""Fixtures for the client tests that run against an in-process sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from threadline.sandbox import SandboxState, create_sandbox_app
from threadline.whatsapp import WhatsAppClient


@pytest.fixture
def sandbox_app() -> FastAPI:
    return create_sandbox_app()


@pytest.fixture
def sandbox(sandbox_app: FastAPI) -> SandboxState:
    state: SandboxState = sandbox_app.state.sandbox
    return state


@pytest.fixture
async def sandbox_http(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http


@pytest.fixture
def wa(sandbox_http: httpx.AsyncClient, sandbox: SandboxState) -> WhatsAppClient:
    return WhatsAppClient(
        sandbox_http,
        base_url="http://sandbox",
        phone_number_id=sandbox.config.phone_number_id,
        access_token=sandbox.config.access_token,
    )
