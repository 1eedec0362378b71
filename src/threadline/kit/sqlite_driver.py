"""SQLAlchemy's aiosqlite driver with one thread hop per statement.

aiosqlite runs each connection's calls on a thread of its own, and every call is a
hop there and back (a queue put, a thread wake-up, a callback on the event loop).
SQLAlchemy's adapter makes three or four such calls per statement: make a cursor,
execute, fetch the rows, close the cursor. This adapter makes one: the statement runs
to its last row on the connection's thread, and the cursor answers from what it
brought back (rows, ``description``, ``rowcount``, ``lastrowid``). A statement costs
about 40 % less CPU (``docs/benchmarks.md``), and every request and job runs dozens.

Only the single-hop cursor differs: connections, transactions, errors and the
streaming (server-side) cursor are SQLAlchemy's own. Like SQLAlchemy's adapter (its
isolation-level setter), it queues work on aiosqlite's connection thread through
aiosqlite's internals (``Connection._execute``, ``Connection._conn``), so the
supported aiosqlite versions are pinned in ``pyproject.toml``.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite import aiosqlite as adapter

#: What one statement brought back from the connection's thread.
_Outcome = tuple[Any, int, int | None, list[Any] | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On the connection's thread: execute, fetch every row, close the cursor."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else None
        # rowcount is final only once a RETURNING statement's rows are all fetched
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, operation: str, rows: Any) -> _Outcome:
    """On the connection's thread: one statement for many parameter sets."""
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, rows)
        return None, cursor.rowcount, cursor.lastrowid, None
    finally:
        cursor.close()


class _Answered:
    """The DB-API cursor SQLAlchemy reads after a statement: what it brought back."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self) -> None:
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def take(self, outcome: _Outcome) -> list[Any] | None:
        """Keep a statement's metadata; its rows, if it returned any."""
        self.description, self.rowcount, self.lastrowid, rows = outcome
        return rows

    def close(self) -> None:
        """Nothing to close: the cursor on the thread is closed already."""


class OneHopCursor(adapter.AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, each statement one call on the thread."""

    __slots__ = ()
    _awaitable_cursor_close = False

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Answered()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            outcome = await self._on_thread(_run, operation, parameters)
            rows = self._answered.take(outcome)
            if rows is not None:
                self._rows = collections.deque(rows)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._answered.take(await self._on_thread(_run_many, operation, seq_of_parameters))

    @property
    def _answered(self) -> _Answered:
        return cast(_Answered, self._cursor)

    async def _on_thread(self, function: Any, operation: Any, parameters: Any) -> _Outcome:
        connection = cast(aiosqlite.Connection, self._connection)
        on_thread: Callable[..., Awaitable[_Outcome]] = connection._execute
        return await on_thread(function, connection._conn, operation, parameters)

    async def _async_soft_close(self) -> None:
        """The rows and metadata are here already; nothing is left open."""


class OneHopConnection(adapter.AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection, with :class:`OneHopCursor`."""

    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(adapter.AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module of the engines (``create_async_engine(module=...)``)."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def dbapi() -> OneHopDBAPI:
    """A DB-API module for an engine on a ``sqlite+aiosqlite`` URL."""
    return OneHopDBAPI(aiosqlite, sqlite3)
