"""Database plumbing: engine creation, the declarative base and transactions.

SQLite and PostgreSQL run the same code. On SQLite every write transaction starts with
``BEGIN IMMEDIATE`` (so two writers never deadlock on a lock upgrade) and, inside one
process, write transactions are serialised by an asyncio lock: the single-writer path.
Across processes SQLite's busy timeout makes writers queue.

Read-only work (every GET) uses :meth:`Database.read`: a deferred transaction on
connections of their own that takes neither lock, so in WAL mode it reads the last
committed state while a writer (here or in another process) holds the write lock.
A read-only session refuses to write (SQLite ``query_only``, PostgreSQL ``READ ONLY``):
it fails loudly instead of turning into a write transaction.

:meth:`Database.priority` is for the few short writes that must never queue behind the
rest (the worker's claims and lease heartbeat): a connection of its own, outside the
pool, and on SQLite a place ahead of the other writers waiting for the write lock;
:meth:`Database.priority_read` is the reads of that same work (which jobs are due).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from threadline.kit import sqlite_driver

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Connections kept for SQLite reads; each is a thread in aiosqlite.
READ_POOL_SIZE = 8


def json_dumps(value: Any) -> str:
    """JSON columns are written with orjson: several times faster than ``json`` on the hot path.

    Non-string keys are turned into strings, as ``json.dumps`` does.
    """
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


#: Engine options shared by every engine: the JSON columns' (de)serialiser.
_JSON = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}
#: SQLite engines' driver: aiosqlite, one thread hop per statement (``kit/sqlite_driver``).
_SQLITE = {"module": sqlite_driver.dbapi()}


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names follow one convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int, *, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First the busy timeout: switching a new file to WAL needs a lock too.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


class Database:
    """An engine, its session factory, and the one way to open a transaction."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 40) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = self._create_engine(url, busy_timeout_ms, pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = self._create_read_engine(url, busy_timeout_ms)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.priority_engine = self._create_priority_engine(url, busy_timeout_ms)
        self.priority_sessions = async_sessionmaker(self.priority_engine, expire_on_commit=False)
        self._priority_reads = (
            self.read_sessions
            if self.is_sqlite  # SQLite's reads never wait for a writer, nor for the pool
            else async_sessionmaker(
                self.priority_engine.execution_options(postgresql_readonly=True),
                expire_on_commit=False,
            )
        )
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # Ordinary writers queue here first, so at most one of them waits on the write
        # lock itself: a priority writer waits for at most that one and the holder.
        self._writers_queue = asyncio.Lock() if self.is_sqlite else None

    def _create_engine(self, url: str, busy_timeout_ms: int, pool_size: int) -> AsyncEngine:
        if self.is_sqlite:
            engine = create_async_engine(url, pool_size=4, max_overflow=0, **_SQLITE, **_JSON)
            _configure_sqlite(engine, busy_timeout_ms, read_only=False)
            return engine
        # A pool as large as the work in flight: opening connections under load forks
        # PostgreSQL backends, which cost more CPU than the queries they serve.
        return create_async_engine(
            url, pool_size=pool_size, max_overflow=0, pool_timeout=60, **_JSON
        )

    def _create_priority_engine(self, url: str, busy_timeout_ms: int) -> AsyncEngine:
        driver = _SQLITE if self.is_sqlite else {}
        engine = create_async_engine(url, pool_size=1, max_overflow=0, **driver, **_JSON)
        if self.is_sqlite:
            _configure_sqlite(engine, busy_timeout_ms, read_only=False)
        return engine

    def _create_read_engine(self, url: str, busy_timeout_ms: int) -> AsyncEngine:
        if self.is_sqlite:
            engine = create_async_engine(
                url, pool_size=READ_POOL_SIZE, max_overflow=0, **_SQLITE, **_JSON
            )
            _configure_sqlite(engine, busy_timeout_ms, read_only=True)
            return engine
        # The same pool: PostgreSQL reads never wait for writers anyway.
        return self.engine.execution_options(postgresql_readonly=True)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session: takes no write lock, refuses writes, never commits."""
        async with self.read_sessions() as session:
            yield session
            await session.rollback()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction the caller commits; rolled back if it does not."""
        async with self._serialised(), self.sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session committed on success and rolled back on error."""
        async with self.session() as session:
            yield session
            await session.commit()

    @contextlib.asynccontextmanager
    async def priority(self) -> AsyncIterator[AsyncSession]:
        """A short write transaction that never waits for the pool or the queue of writers
        (one at a time: it has one connection). Committed on success."""
        async with self._serialised(priority=True), self.priority_sessions() as session:
            yield session
            await session.commit()

    @contextlib.asynccontextmanager
    async def priority_read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that never waits for the pool (on PostgreSQL it shares the
        priority connection; SQLite's reads have their own)."""
        async with self._priority_reads() as session:
            yield session
            await session.rollback()

    @contextlib.asynccontextmanager
    async def _serialised(self, *, priority: bool = False) -> AsyncIterator[None]:
        if self._write_lock is None or self._writers_queue is None:
            yield
            return
        if priority:
            async with self._write_lock:
                yield
            return
        async with self._writers_queue, self._write_lock:
            yield

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.is_sqlite:
            await self.read_engine.dispose()
        await self.priority_engine.dispose()
        await self.engine.dispose()
