"""Response envelopes and pagination shared by every endpoint."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from threadline.errors import BadRequest

T = TypeVar("T")

#: The highest ``page`` accepted, so that the row offset always fits a 64-bit integer.
MAX_PAGE = 2**31 - 1


class Envelope(BaseModel, Generic[T]):
    """``{"data": ...}``, the reference's wrapper of every resource."""

    data: T


class PageMeta(BaseModel):
    """Pagination facts of a list."""

    page: int
    per_page: int
    total_pages: int
    total_count: int

    @classmethod
    def of(cls, *, page: int, per_page: int, total_count: int) -> PageMeta:
        """Meta for ``total_count`` items split into pages of ``per_page``."""
        pages = max(1, math.ceil(total_count / per_page)) if per_page else 1
        return cls(page=page, per_page=per_page, total_pages=pages, total_count=total_count)


class Page(BaseModel, Generic[T]):
    """``{"data": [...], "meta": {...}}``."""

    data: list[T]
    meta: PageMeta


class PageParams(BaseModel):
    """``page`` (from 1) and ``per_page`` (1..100) query parameters."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1, le=100)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.per_page


def as_utc(name: str, moment: datetime | None) -> datetime | None:
    """A ``q[name]`` filter time in UTC; one without an offset is UTC, not the server's time."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"q[{name}] is out of range") from None
