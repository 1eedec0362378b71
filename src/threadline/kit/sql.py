"""SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, TextClause
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
    conflict_where: ColumnElement[bool] | TextClause | None = None,
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` on a unique key; True if the row was inserted.

    The unique constraint decides, so concurrent inserts of the same key make one row
    and the losers learn it without an error that would abort their transaction.
    """
    dialect = postgresql if is_postgres(session) else sqlite
    statement = dialect.insert(model).values(**values)
    statement = statement.on_conflict_do_nothing(
        index_elements=list(conflict_on), index_where=conflict_where
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
