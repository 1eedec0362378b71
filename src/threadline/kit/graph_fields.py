"""The Graph API's ``fields`` selection and ``summary`` parameter, for any list of objects.

``fields=name,status,kapso(direction,status)`` keeps those keys of each object (and
``id``, which Graph always returns); ``key(a,b)`` keeps only ``a`` and ``b`` of a nested
object, ``key`` or ``key()`` all of it. Used by the sandbox's lists and the Meta proxy.
"""

from __future__ import annotations

from typing import Any

#: A parsed selection: each key kept, with the selection of its own keys (None: all).
Selection = dict[str, "Selection | None"]
MAX_FIELDS_LENGTH = 2000


class FieldsError(ValueError):
    """The ``fields`` parameter cannot be read (unbalanced parentheses, empty names)."""


def parse_fields(spec: str | None) -> Selection | None:
    """The selection ``spec`` asks for, or None (no ``fields``: every key)."""
    if spec is None or not spec.strip():
        return None
    if len(spec) > MAX_FIELDS_LENGTH:
        raise FieldsError(f"fields is longer than {MAX_FIELDS_LENGTH} characters")
    selection, rest = _parse(spec.replace(" ", ""), 0)
    if rest != len(spec.replace(" ", "")):
        raise FieldsError(f"fields has an unbalanced ')': {spec!r}")
    return selection


def _parse(text: str, at: int) -> tuple[Selection, int]:
    selection: Selection = {}
    name = ""
    while at < len(text):
        char = text[at]
        if char == "(":
            inner, at = _parse(text, at + 1)
            if at >= len(text) or text[at] != ")":
                raise FieldsError(f"fields has an unclosed '(': {text!r}")
            _add(selection, name, inner or None)
            name = ""
        elif char == ")":
            break
        elif char == ",":
            _add(selection, name, None)
            name = ""
        else:
            name += char
        at += 1
    _add(selection, name, None)
    return selection, at


def _add(selection: Selection, name: str, inner: Selection | None) -> None:
    if name:
        selection[name] = inner if inner is not None else selection.get(name)


def select(record: dict[str, Any], selection: Selection | None) -> dict[str, Any]:
    """``record`` with only the selected keys (``id`` always kept when present)."""
    if selection is None:
        return record
    kept: dict[str, Any] = {}
    for key, value in record.items():
        if key not in selection and key != "id":
            continue
        inner = selection.get(key)
        kept[key] = select(value, inner) if isinstance(value, dict) and inner else value
    return kept


def summary_keys(spec: str | None) -> list[str]:
    """The keys ``summary=`` asks for (``summary=true`` means ``total_count``)."""
    if spec is None or not spec.strip():
        return []
    if spec.strip().lower() in ("true", "1"):
        return ["total_count"]
    return [key.strip() for key in spec.split(",") if key.strip()]
