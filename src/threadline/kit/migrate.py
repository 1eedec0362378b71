"""Run Alembic migrations from code (used by ``threadline migrate``, ``serve`` and tests).

Processes that start together (several ``serve`` or ``worker`` hosts) migrate one at a
time: on PostgreSQL the migration transaction first takes an advisory lock, on SQLite
it begins with ``BEGIN IMMEDIATE`` (the database's write lock). Whoever comes second
waits, then finds the schema at head and applies nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

#: The advisory lock key of migrations (any constant; "threadln" as an integer).
MIGRATION_LOCK_KEY = 0x7468726561646C6E
#: How long a SQLite migration waits for another process's migration to finish.
SQLITE_LOCK_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class AppliedMigration:
    """A migration this run applied: its revision id and its description."""

    revision: str
    description: str


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that needs no ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


def _upgrade(connection: Connection, url: str) -> list[AppliedMigration]:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, "head")
    script = ScriptDirectory.from_config(config)
    applied = script.iterate_revisions("head", before)
    return [
        AppliedMigration(revision.revision, (revision.doc or "").strip())
        for revision in reversed(list(applied))
    ]


def _migration_engine(url: str) -> AsyncEngine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def upgrade_async(url: str) -> list[AppliedMigration]:
    """Bring the database at ``url`` to the newest schema; the migrations applied."""
    engine = _migration_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Held by the transaction Alembic runs in; released at its commit.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            return await connection.run_sync(_upgrade, url)
    finally:
        await engine.dispose()


def upgrade(url: str) -> list[AppliedMigration]:
    """Synchronous wrapper of :func:`upgrade_async` for the CLI."""
    return asyncio.run(upgrade_async(url))
