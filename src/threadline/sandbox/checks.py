"""Field-level checks that raise Graph errors, shared by the message validators.

Code 100 means a field is missing or has the wrong JSON type; code 131009 means it is
present but breaks one of Meta's limits. ``where`` is the dotted path quoted in
``error_data.details`` so a developer can find the offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadline.sandbox.faults import invalid_parameter, invalid_value

URL_MAX = 2000


def obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """The required JSON object ``parent[key]``."""
    value = parent.get(key)
    if value is None:
        raise invalid_parameter(f"The parameter {where} is required.")
    if not isinstance(value, Mapping):
        raise invalid_parameter(f"Param {where} must be a JSON object")
    return value


def array(parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """The required JSON array ``parent[key]``."""
    value = parent.get(key)
    if value is None:
        raise invalid_parameter(f"The parameter {where} is required.")
    if not isinstance(value, list):
        raise invalid_parameter(f"Param {where} must be a JSON array")
    return value


def as_obj(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` itself, which must be a JSON object (an array item, say)."""
    if not isinstance(value, Mapping):
        raise invalid_parameter(f"Param {where} must be a JSON object")
    return value


def required_str(parent: Mapping[str, Any], key: str, where: str, maximum: int) -> str:
    """The required, non-empty string ``parent[key]`` of at most ``maximum`` characters."""
    if parent.get(key) is None:
        raise invalid_parameter(f"The parameter {where} is required.")
    value = optional_str(parent, key, where, maximum)
    assert value is not None  # presence was checked above
    return value


def optional_str(parent: Mapping[str, Any], key: str, where: str, maximum: int) -> str | None:
    """``parent[key]`` if present; then a non-empty string of at most ``maximum`` characters."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_parameter(f"Param {where} must be a string")
    if not 1 <= len(value) <= maximum:
        raise invalid_value(
            f"Param {where} length invalid: {len(value)} characters (min 1, max {maximum})"
        )
    return value


def url(parent: Mapping[str, Any], key: str, where: str) -> str:
    """The required http(s) URL ``parent[key]``."""
    value = required_str(parent, key, where, URL_MAX)
    if not value.startswith(("https://", "http://")):
        raise invalid_parameter(f"Param {where} must be an http(s) URL")
    return value


def count(items: list[Any], minimum: int, maximum: int, where: str) -> None:
    """``items`` has between ``minimum`` and ``maximum`` elements."""
    if not minimum <= len(items) <= maximum:
        raise invalid_value(
            f"Param {where} has {len(items)} items; between {minimum} and {maximum} are allowed"
        )


def unique(values: list[str], where: str) -> None:
    """No value repeats."""
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise invalid_value(f"{where} must be unique; repeated: {repeated}")


def one_of(parent: Mapping[str, Any], key: str, allowed: frozenset[str], where: str) -> str:
    """``parent[key]``, which must be one of ``allowed``."""
    value = parent.get(key)
    if value not in allowed:
        raise invalid_parameter(f"Param {where} must be one of {sorted(allowed)}; got {value!r}")
    return str(value)
