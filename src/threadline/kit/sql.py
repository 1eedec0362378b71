"""SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def is_postgres(session: AsyncSession) -> bool:
    """Whether ``session`` talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


async def insert_ignoring_conflict(
    session: AsyncSession,
    model: Any,
    values: dict[str, Any],
    *,
    conflict_on: Sequence[str],
    conflict_where: str | None = None,
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` of one row on a unique key (``conflict_where``:
    the partial index's predicate, as SQL); True if the row was inserted.

    The unique constraint decides, so concurrent inserts of the same key make one row
    and the losers learn it without an error that would abort their transaction.
    """
    statement = _unless_conflict(session, model.__table__, tuple(conflict_on), conflict_where)
    result = await session.execute(statement, values)
    return bool(getattr(result, "rowcount", 0))


async def insert_many_ignoring_conflict(
    session: AsyncSession,
    model: Any,
    rows: list[dict[str, Any]],
    *,
    conflict_on: Sequence[str],
    conflict_where: str | None = None,
) -> None:
    """:func:`insert_ignoring_conflict` of several rows (alike in their keys) in one call."""
    if rows:
        table = model.__table__
        statement = _unless_conflict(session, table, tuple(conflict_on), conflict_where)
        await session.execute(statement, rows)


async def insert_returning_unless_conflict(
    session: AsyncSession,
    model: Any,
    values: dict[str, Any],
    *,
    conflict_on: Sequence[str],
    conflict_where: str | None = None,
) -> Any:
    """:func:`insert_ignoring_conflict` that returns the new row as an ORM object (in
    the session, as a SELECT would), or None if the key was taken: the get-or-create
    of a new row is then one statement instead of an insert and a read."""
    statement = _returning(
        session.get_bind().dialect.name, model, tuple(conflict_on), conflict_where
    )
    return (await session.scalars(statement, values)).one_or_none()


@functools.cache
def _returning(dialect: str, model: Any, key: tuple[str, ...], where: str | None) -> Any:
    table = model.__table__
    insert = _insert_statement(dialect, table, key, where).returning(*table.c)
    return select(model).from_statement(insert)


@functools.cache
def _insert_statement(dialect: str, target: Any, key: tuple[str, ...], where: str | None) -> Any:
    # Built once per shape and executed with the row as parameters: building the
    # statement and its cache key cost more than running it, and a multi-row VALUES
    # is compiled again on every call.
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(target)
    predicate = None if where is None else text(where)
    return insert.on_conflict_do_nothing(index_elements=list(key), index_where=predicate)


def _unless_conflict(
    session: AsyncSession, target: Any, key: tuple[str, ...], where: str | None
) -> Any:
    return _insert_statement(session.get_bind().dialect.name, target, key, where)


async def insert_or_lock(
    session: AsyncSession, model: Any, values: dict[str, Any], *, key: Sequence[str]
) -> Any:
    """The row whose unique ``key`` columns have ``values``' values, inserted from
    ``values`` if there is none yet, row-locked (``FOR UPDATE``) and freshly read."""
    await insert_ignoring_conflict(session, model, values, conflict_on=key)
    statement = (
        select(model)
        .where(*(getattr(model, column) == values[column] for column in key))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()
