"""SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, TextClause, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def is_postgres(session: AsyncSession) -> bool:
    """Whether ``session`` talks to PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


async def insert_ignoring_conflict(
    session: AsyncSession,
    model: Any,
    values: dict[str, Any] | list[dict[str, Any]],
    *,
    conflict_on: Sequence[str],
    conflict_where: ColumnElement[bool] | TextClause | None = None,
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` on a unique key; True if a row was inserted
    (``values`` may be several rows: one statement).

    The unique constraint decides, so concurrent inserts of the same key make one row
    and the losers learn it without an error that would abort their transaction.
    """
    dialect = postgresql if is_postgres(session) else sqlite
    statement = dialect.insert(model).values(values)
    statement = statement.on_conflict_do_nothing(
        index_elements=list(conflict_on), index_where=conflict_where
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


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
