"""Query parameters and SQL shared by list endpoints: pagination and Ransack-style filters.

The reference's lists take ``page``/``per_page`` and filters written ``q[<field>_<op>]``
(``_eq``, ``_cont``, ``_gteq``, ``_lteq``). Endpoints declare the filters they support
with these aliases; repositories turn them into conditions with the helpers below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.schemas import MAX_PAGE, Page, PageMeta, PageParams

T = TypeVar("T")


def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PageParams:
    """``page`` (from 1) and ``per_page`` (1..100) of the query string."""
    return PageParams(page=page, per_page=per_page)


#: An endpoint parameter: the page asked for.
PageQuery = Annotated[PageParams, Depends(page_params)]


class CreatedRange(BaseModel):
    """``q[created_at_gteq]`` and ``q[created_at_lteq]``: a creation window, both ends included."""

    gteq: datetime | None = None
    lteq: datetime | None = None

    def conditions(self, column: Any) -> list[ColumnElement[bool]]:
        """The SQL conditions on ``column`` this window asks for."""
        found: list[ColumnElement[bool]] = []
        if self.gteq is not None:
            found.append(column >= self.gteq)
        if self.lteq is not None:
            found.append(column <= self.lteq)
        return found


def created_range(
    gteq: Annotated[AwareDatetime | None, Query(alias="q[created_at_gteq]")] = None,
    lteq: Annotated[AwareDatetime | None, Query(alias="q[created_at_lteq]")] = None,
) -> CreatedRange:
    """The creation window of the query string (ISO 8601 with a time zone)."""
    return CreatedRange(gteq=gteq, lteq=lteq)


#: An endpoint parameter: the ``q[created_at_*]`` filters.
CreatedQuery = Annotated[CreatedRange, Depends(created_range)]


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """``_cont``: ``column`` contains ``text``, case-insensitively, wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition: ColumnElement[bool] = func.lower(column).like(f"%{escaped.lower()}%", escape="\\")
    return condition


async def fetch_page(
    session: AsyncSession, statement: Select[T], page: PageParams
) -> tuple[list[T], int]:
    """One page of ``statement``'s rows (already ordered), and how many match in all."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = int((await session.execute(counted)).scalar_one())
    rows = await session.execute(statement.offset(page.offset).limit(page.per_page))
    return list(rows.scalars()), total


def page_of(items: list[T], page: PageParams, total: int) -> Page[T]:
    """The ``{data, meta}`` answer for one page of ``total`` items."""
    meta = PageMeta.of(page=page.page, per_page=page.per_page, total_count=total)
    return Page(data=items, meta=meta)
