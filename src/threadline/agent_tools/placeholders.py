"""``#{name}`` placeholders of webhook tools (Kapso's syntax), filled where they are safe.

Each value is placed where it cannot change the request's shape: in a URL it is
percent-encoded for the part it lands in and never forms the scheme or host; in a JSON
body it fills a string (a string that is exactly one placeholder takes the value's own
JSON type), never the JSON text; a header value refuses line breaks and non-ASCII.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from threadline.kit.url_template import url_origin

OPENER = "#{"
PLACEHOLDER = re.compile(r"#\{\s*([A-Za-z_][\w.-]*)\s*\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeValue(ValueError):
    """A value cannot go where its placeholder is; the message says why."""


def names(text: str) -> list[str]:
    """The placeholder names in ``text``, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _lookup(name: str, values: Mapping[str, Any]) -> Any:
    """The value named ``name``; a dotted name not found as such walks nested objects
    (``vars.order.id``)."""
    if name in values or "." not in name:
        return values.get(name)
    found: Any = values
    for part in name.split("."):
        if not isinstance(found, Mapping):
            return None
        found = found.get(part)
    return found


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Replace every placeholder in ``text`` by its value as text (missing: empty)."""
    return PLACEHOLDER.sub(lambda m: _text(_lookup(m.group(1), values)), text)


def fill_url(template: str, values: Mapping[str, Any]) -> str:
    """The URL with its placeholders filled: a value in the path is one segment (``/``,
    ``?``, ``#`` encoded, ``.``/``..`` refused); in the query and fragment ``&``, ``=``
    and the rest are encoded, so a value never adds a parameter."""
    origin = url_origin(template, opener=OPENER)
    if origin is None:
        raise UnsafeValue(
            "the URL must start with http:// or https:// and a host written out in full "
            "(no #{...} in the scheme, host or port)"
        )
    out, position = [origin], len(origin)
    for match in PLACEHOLDER.finditer(template, position):
        out.append(template[position : match.start()])
        value = quote(_text(_lookup(match.group(1), values)), safe="")
        if "?" not in "".join(out)[len(origin) :] and unquote(value) in (".", ".."):
            raise UnsafeValue("a URL path segment taken from a value cannot be '.' or '..'")
        out.append(value)
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def check_header(name: str, value: str) -> str:
    """``value`` if it may be sent as header ``name``: control characters (line breaks)
    and non-ASCII are refused (header values are ASCII: send such data in the body)."""
    if _CONTROL.search(value.replace("\t", " ")):
        raise UnsafeValue(f"header {name}: a value cannot contain line breaks or control chars")
    if not value.isascii():
        raise UnsafeValue(f"header {name}: {value!r} is not ASCII; send it in the body instead")
    return value


def fill_header(name: str, template: str, values: Mapping[str, Any]) -> str:
    """A header value with its placeholders filled, checked by :func:`check_header`."""
    return check_header(name, fill(template, values))


def fill_value(value: Any, values: Mapping[str, Any]) -> Any:
    """Fill the strings of a JSON-like value, recursively (a copy; ``value`` is unchanged)."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        return _lookup(whole.group(1), values) if whole else fill(value, values)
    if isinstance(value, Mapping):
        return {key: fill_value(item, values) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fill_value(item, values) for item in value]
    return value


def fill_body(body: Any, values: Mapping[str, Any]) -> Any:
    """A body filled structurally: an object, a list, or a string holding JSON has its
    strings filled; any other string is text and is filled as text."""
    if isinstance(body, str):
        try:
            parsed = json.loads(body) if body.lstrip().startswith(("{", "[")) else None
        except ValueError:
            raise UnsafeValue(
                "the body looks like JSON but is not valid JSON: put each #{...} inside a string"
            ) from None
        return fill(body, values) if parsed is None else fill_value(parsed, values)
    return fill_value(body, values)
