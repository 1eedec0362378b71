"""Alembic migrations: they round-trip and they match the models, on both databases."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from threadline.kit.db import Base
from threadline.kit.migrate import alembic_config, upgrade_async
from threadline.models import include_name

POSTGRES_URL = os.environ.get("THREADLINE_TEST_POSTGRES_URL", "")


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with nothing in it, of each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL half skipped: THREADLINE_TEST_POSTGRES_URL is not set")
    name = f"migrations_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _run(url: str, work: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"include_name": include_name})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models_and_round_trip(empty_url: str) -> None:
    await upgrade_async(empty_url)
    assert await _run(empty_url, _differences) == []

    def downgrade(connection: Connection) -> None:
        config = alembic_config(empty_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    await _run(empty_url, downgrade)
    await upgrade_async(empty_url)
    assert await _run(empty_url, _differences) == []
