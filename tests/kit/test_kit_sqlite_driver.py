"""The SQLite engines' driver: one aiosqlite thread hop per statement, same answers.

SQLAlchemy reads a statement's rows, ``rowcount``, ``lastrowid`` and ``description``
from the cursor; each must be what the standard driver gives, RETURNING included
(whose rowcount is only final once its rows are fetched), and errors must still be
SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from threadline.kit.db import Database

SCHEMA = "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, n INTEGER)"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.transaction() as session:
        await session.execute(text(SCHEMA))
    yield database
    await database.dispose()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every call queued on an aiosqlite connection's thread, from here on."""
    calls: list[Any] = []
    queued = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fn)
        return await queued(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield calls


async def test_a_statement_is_one_call_on_the_connection_thread(
    db: Database, hops: list[Any]
) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO things (name, n) VALUES ('a', 1)"))
        hops.clear()
        rows = (await session.execute(text("SELECT name, n FROM things"))).all()
        assert len(hops) == 1
    assert [tuple(row) for row in rows] == [("a", 1)]


async def test_rowcount_lastrowid_and_returning_are_the_drivers(db: Database) -> None:
    async with db.transaction() as session:
        inserted = await session.execute(text("INSERT INTO things (name, n) VALUES ('a', 1)"))
        assert inserted.lastrowid == 1
        many = await session.execute(
            text("INSERT INTO things (name, n) VALUES (:name, :n)"),
            [{"name": "b", "n": 2}, {"name": "c", "n": 3}],
        )
        assert many.rowcount == 2
        updated = await session.execute(text("UPDATE things SET n = n + 10 WHERE n >= 2"))
        assert updated.rowcount == 2
        returned = await session.execute(
            text("UPDATE things SET n = 0 WHERE n > 10 RETURNING name, n")
        )
        assert sorted(tuple(row) for row in returned) == [("b", 0), ("c", 0)]
        assert returned.rowcount == 2
        assert list(returned.keys()) == ["name", "n"]
        none = await session.execute(text("DELETE FROM things WHERE n = 99"))
        assert none.rowcount == 0


async def test_errors_are_sqlalchemys_and_the_transaction_rolls_back(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO things (name) VALUES ('a')"))
            await session.execute(text("INSERT INTO things (name) VALUES ('a')"))
    with pytest.raises(OperationalError):
        async with db.transaction() as session:
            await session.execute(text("SELECT nothing FROM nowhere"))
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM things"))).scalar_one() == 0


async def test_a_read_session_still_refuses_to_write(db: Database) -> None:
    with pytest.raises(OperationalError, match="readonly"):
        async with db.read() as session:
            await session.execute(text("INSERT INTO things (name) VALUES ('x')"))
