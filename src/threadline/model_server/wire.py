"""What both wire formats share: the invalid-request error and field checks."""

from __future__ import annotations

from typing import Any


class WireError(Exception):
    """The request body is invalid (answered 400 in the protocol's error shape)."""


def require_str(body: dict[str, Any], name: str) -> str:
    """``body[name]`` as a non-empty string."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise WireError(f"{name}: a non-empty string is required")
    return value


def require_list(body: dict[str, Any], name: str) -> list[Any]:
    """``body[name]`` as a non-empty list."""
    value = body.get(name)
    if not isinstance(value, list) or not value:
        raise WireError(f"{name}: a non-empty array is required")
    return value
