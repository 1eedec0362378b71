"""SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, TextClause, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


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


async def page_of(
    session: AsyncSession, statement: Select[T], *, offset: int, limit: int
) -> tuple[list[T], int]:
    """One page of the rows ``statement`` selects, in its order, and how many it selects in all."""
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    total = (await session.execute(count)).scalar_one()
    rows = await session.execute(statement.offset(offset).limit(limit))
    return list(rows.scalars()), int(total)
