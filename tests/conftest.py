"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is used when ``THREADLINE_TEST_POSTGRES_URL`` is set (for example
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``). Without it the PostgreSQL half
is skipped with a clear reason, except under ``CI=true``, where it is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from llm_builders import LiveModelServer
from support import SECRET_KEY, free_port
from threadline.app import create_app
from threadline.config import Settings
from threadline.inbound.group import GroupCommit
from threadline.jobs.worker import Worker
from threadline.kit import config_cache
from threadline.kit.db import Base
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources
from threadline.kit.tls import shared_ssl_context
from threadline.model_server.app import create_model_server_app
from threadline.model_server.cassettes import Cassette
from threadline.model_server.state import ModelServerState
from threadline.sandbox.app import create_sandbox_app
from threadline.sandbox.state import SandboxState

POSTGRES_URL = os.environ.get("THREADLINE_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return f"PostgreSQL half: ON ({POSTGRES_URL})"
    return "PostgreSQL half: SKIPPED (set THREADLINE_TEST_POSTGRES_URL to run it)"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def _fresh_postgres(url: str) -> str:
    """A new database beside the configured one, so concurrent test runs never collide."""
    base = make_url(url)
    name = f"{base.database}_{os.getpid()}_{secrets.token_hex(3)}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated, empty database of each backend (one per test session)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'threadline.db'}"
        await upgrade_async(url)
        yield url
        return
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but THREADLINE_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL half skipped: THREADLINE_TEST_POSTGRES_URL is not set")
    url = await _fresh_postgres(POSTGRES_URL)
    await upgrade_async(url)
    yield url
    await _admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def sandbox_server() -> AsyncIterator[tuple[str, SandboxState]]:
    """A real HTTP WhatsApp sandbox, shared by the session."""
    app = create_sandbox_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}", app.state.sandbox
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def model_server_live() -> AsyncIterator[tuple[str, ModelServerState]]:
    """A real HTTP local model server, shared by the session."""
    app = create_model_server_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}", app.state.model_server
    server.should_exit = True
    await task


@pytest.fixture
async def model_server(
    model_server_live: tuple[str, ModelServerState],
) -> AsyncIterator[LiveModelServer]:
    """The model server, reset for this test, with a control-plane client."""
    url, state = model_server_live
    state.reset()
    async with httpx.AsyncClient(verify=shared_ssl_context(), timeout=10) as http:
        yield LiveModelServer(url=url, state=state, http=http)


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    sandbox_server: tuple[str, SandboxState],
    model_server_live: tuple[str, ModelServerState],
) -> Settings:
    """Settings for one test: its database, a fixed secret key, fast timers, the sandbox
    and the session's model server."""
    return Settings(
        sandbox_url=sandbox_server[0],
        model_server_url=model_server_live[0],
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=SECRET_KEY,
        embedded_worker=False,
        worker_poll_seconds=0.05,
        job_lease_seconds=5,
        egress_allow="127.0.0.0/8",  # flows in tests call local stub servers
    )


async def _truncate(resources: Resources) -> None:
    tables = reversed(Base.metadata.sorted_tables)
    if resources.db.url.startswith("postgresql"):
        # One round trip: asyncpg's simple protocol takes many statements at once.
        script = "".join(f'DELETE FROM "{table.name}";' for table in tables)
        async with resources.db.engine.begin() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute(script)
        return
    async with resources.db.transaction() as session:
        for table in tables:
            await session.execute(table.delete())


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    """Database and HTTP client for one test, on an emptied database."""
    resources = Resources.create(settings)
    await _truncate(resources)
    yield resources
    await resources.close()


@pytest.fixture
def sandbox(sandbox_server: tuple[str, SandboxState]) -> Iterator[SandboxState]:
    """The sandbox's state, reset for this test."""
    _url, state = sandbox_server
    state.reset()
    yield state


@pytest.fixture
def sandbox_url(sandbox_server: tuple[str, SandboxState]) -> str:
    """Base URL of the sandbox (what a sandbox WhatsApp config points at)."""
    return sandbox_server[0]


#: The session's API apps by their settings. FastAPI builds an app's routes (dependants,
#: a pydantic field each) on its first requests: 0.2-0.5 s an app, once per test before.
_APPS: dict[str, FastAPI] = {}


def _settings_key(settings: Settings) -> str:
    """The settings as create_app reads them (all but the test's data_dir, secrets shown)."""
    values = settings.model_dump(exclude={"data_dir"})
    shown = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in values.items()}
    return repr(sorted(shown.items()))


def _api_app(settings: Settings, resources: Resources) -> FastAPI:
    """The API app of these settings, made once a session; each later test gets it with its
    own resources and what create_app makes new (ingest group, mounted apps' state)."""
    key = _settings_key(settings)
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(settings, resources)
        return app
    config_cache.configure(settings.config_cache_seconds)
    app.state.resources = resources
    app.state.ingest_group = GroupCommit(settings)
    for route in app.routes:
        state = getattr(getattr(route, "app", None), "state", None)
        if isinstance(getattr(state, "sandbox", None), SandboxState):
            state.sandbox = SandboxState(state.sandbox.config)
        if isinstance(getattr(state, "model_server", None), ModelServerState):
            state.model_server = ModelServerState(boot_cassette=Cassette())
    return app


@pytest.fixture
async def client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the API app (in-process ASGI; no embedded worker)."""
    app = _api_app(settings, resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


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


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Keep each backend's tests together so each database is prepared once."""
    items.sort(key=lambda item: "postgresql" in item.nodeid)


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
    """The shared sandbox's control plane, its webhooks going to the live platform during
    the test; reset before and after."""
    async with httpx.AsyncClient(base_url=sandbox_url + "/_sandbox", timeout=10) as http:
        (await http.post("/reset")).raise_for_status()
        settings = {"webhook_url": f"{live_url}/webhooks/whatsapp"}
        (await http.post("/config", json=settings)).raise_for_status()
        try:
            yield http
        finally:
            await http.post("/reset")
