"""Refuse input that no database column can hold, before it reaches one.

PostgreSQL stores no NUL character in text or JSONB, and JSON has no NaN or Infinity
(Python's parser accepts them anyway). SQLite would take both, so without this check the
same request succeeds on one backend and fails with a 500 on the other.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from threadline.errors import BadRequest, Unprocessable

_NUL = "\x00"


class _NotAJsonNumber(ValueError):
    """NaN, Infinity, or a number too large to be a finite float."""


def _refuse_constant(name: str) -> Any:
    raise _NotAJsonNumber(name)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotAJsonNumber(text)
    return value


def _has_nul(document: Any) -> bool:
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


async def reject_unstorable_input(request: Request) -> None:
    """Router dependency: 400 for NaN/Infinity in a JSON body, 422 for NUL characters."""
    query = request.query_params.multi_items()
    if _NUL in request.scope.get("path", "") or any(_NUL in k + v for k, v in query):
        raise Unprocessable("The URL may not contain NUL (%00) characters")
    body = await request.body()
    if not body:
        return
    try:
        document = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except _NotAJsonNumber as error:
        raise BadRequest(f"The request body is not valid JSON: {error} is not a number") from None
    except (ValueError, RecursionError):
        return  # not JSON at all: the endpoint reports that
    if _has_nul(document):
        raise Unprocessable("Text may not contain NUL (\\u0000) characters")
