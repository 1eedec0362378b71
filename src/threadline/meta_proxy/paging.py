"""Graph-style cursor paging over the services' offset pages.

A cursor is an opaque, base64-encoded position in the list (``after`` = where the
next page starts, ``before`` = where this one starts). The lists are ordered newest
first with a tie-breaker, so a cursor stays meaningful while rows are added at the top
only as far as offsets do: what a client sees is Graph's shape, ``data`` +
``paging.cursors`` + ``next``/``previous`` URLs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from starlette.datastructures import URL

from threadline.kit.schemas import PageParams
from threadline.meta_proxy.errors import InvalidParameter

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
_MAX_OFFSET = 10_000_000


class Window(PageParams):
    """A page that starts at any row (a cursor's), not only at a multiple of its size."""

    per_page: int = Field(default=DEFAULT_LIMIT + 1, ge=1, le=MAX_LIMIT + 1)
    start: int = 0

    @property
    def offset(self) -> int:
        """Rows to skip: the cursor's position."""
        return self.start


@dataclass(frozen=True)
class Cursor:
    """Where a page starts and how many rows it holds."""

    start: int
    limit: int

    @classmethod
    def of(cls, limit: int | None, after: str | None, before: str | None) -> Cursor:
        """The page ``limit``/``after``/``before`` ask for (``after`` wins if both)."""
        size = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= size <= MAX_LIMIT:
            raise InvalidParameter(f"limit must be between 1 and {MAX_LIMIT}")
        if after is not None:
            return cls(decode(after), size)
        if before is not None:
            return cls(max(decode(before) - size, 0), size)
        return cls(0, size)

    def window(self) -> Window:
        """The services' page of this cursor: one row more, to know if another follows."""
        return Window(per_page=self.limit + 1, start=self.start)


def encode(position: int) -> str:
    """An opaque cursor for ``position``."""
    return base64.urlsafe_b64encode(f"tl:{position}".encode()).decode().rstrip("=")


def decode(cursor: str) -> int:
    """The position a cursor names; a malformed one is Graph's invalid parameter."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position = int(text.removeprefix("tl:")) if text.startswith("tl:") else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = -1
    if not 0 <= position <= _MAX_OFFSET:
        raise InvalidParameter(f"Invalid cursor {cursor[:40]!r}")
    return position


def paged(items: list[dict[str, Any]], cursor: Cursor, url: URL) -> dict[str, Any]:
    """``{"data", "paging"}`` for one page (``items`` may hold the one extra row)."""
    more = len(items) > cursor.limit
    data = items[: cursor.limit]
    cursors = {"before": encode(cursor.start), "after": encode(cursor.start + len(data))}
    paging: dict[str, Any] = {"cursors": cursors}
    base = url.remove_query_params(["after", "before"])
    if more:
        paging["next"] = str(base.include_query_params(after=cursors["after"]))
    if cursor.start > 0:
        paging["previous"] = str(base.include_query_params(before=cursors["before"]))
    return {"data": data, "paging": paging}
