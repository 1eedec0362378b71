"""``{{ path }}`` interpolation for flow node configs.

A path is dotted with optional ``[n]`` list indexes, e.g. ``vars.items[0].name``. Its first
segment picks a root of the scope (``vars``, ``context``, ``system``, ``last_user_input``);
any other first segment is looked up in ``vars``. Text between braces that is not a path
(``{{1}}``, ``{{ a b }}``) is left as written, so WhatsApp-style placeholders survive.

Templates are parsed once and cached; rendering only walks the parsed parts.

The renderers of HTTP calls place each value where it cannot change the request's
shape: :func:`render_url` percent-encodes a value for the path segment, query or
fragment it lands in and never lets one form the scheme or host; :func:`render_body`
substitutes into the strings of a JSON body, never into its text; :func:`render_header`
refuses line breaks and non-ASCII. They raise :class:`UnsafeValue` with the reason.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, unquote

from threadline.kit.url_template import ORIGIN_RULE, url_origin

__all__ = [
    "ROOTS",
    "UnsafeValue",
    "render",
    "render_body",
    "render_header",
    "render_url",
    "render_value",
    "template_paths",
]

ROOTS: Final = frozenset({"vars", "context", "system", "last_user_input"})
"""Scope keys a path may start with; other first segments are looked up in ``vars``."""

_DEFAULT_ROOT: Final = "vars"
_OPEN: Final = "{{"
_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_PATH = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w-]+|\[-?\d+\])*", re.ASCII)
_SEGMENT = re.compile(r"([A-Za-z_][\w-]*)|\.([\w-]+)|\[(-?\d+)\]", re.ASCII)


class _Missing:
    """The value of a path that leads nowhere."""


_MISSING: Final = _Missing()

Segment = str | int


@dataclass(frozen=True, slots=True)
class _Path:
    text: str
    root: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class _Template:
    parts: tuple[str | _Path, ...]

    @property
    def whole(self) -> _Path | None:
        """The path when the text is exactly one placeholder."""
        only = self.parts[0] if len(self.parts) == 1 else None
        return only if isinstance(only, _Path) else None


def _parse_path(text: str) -> _Path | None:
    if not _PATH.fullmatch(text):
        return None
    segments: list[Segment] = []
    for name, key, index in _SEGMENT.findall(text):
        segments.append(int(index) if index else name or key)
    first = segments[0]
    if first in ROOTS:
        return _Path(text, str(first), tuple(segments[1:]))
    return _Path(text, _DEFAULT_ROOT, tuple(segments))


@lru_cache(maxsize=4096)
def _compile(text: str) -> _Template:
    parts: list[str | _Path] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        path = _parse_path(match.group(1))
        if path is None:
            continue  # not a path: the braces stay in the surrounding literal text
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(path)
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return _Template(tuple(parts))


def _step(value: Any, segment: Segment) -> Any:
    if isinstance(value, Mapping):
        return value.get(str(segment), _MISSING)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if isinstance(segment, str):
            if not segment.isdigit():
                return _MISSING
            segment = int(segment)
        return value[segment] if -len(value) <= segment < len(value) else _MISSING
    return _MISSING


def _resolve(path: _Path, scope: Mapping[str, Any]) -> Any:
    value = scope.get(path.root, _MISSING)
    for segment in path.segments:
        if value is _MISSING:
            break
        value = _step(value, segment)
    return value


def _to_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def render(text: str, scope: Mapping[str, Any]) -> str:
    """Interpolate every ``{{ path }}`` in ``text``; a missing path renders as ``""``.

    Strings render as they are, ``None`` as ``""``, booleans as ``true``/``false``,
    objects and lists as compact JSON and anything else with ``str()``.
    """
    if _OPEN not in text:
        return text
    return "".join(
        part if isinstance(part, str) else _to_text(_resolve(part, scope))
        for part in _compile(text).parts
    )


def render_value(value: Any, scope: Mapping[str, Any]) -> Any:
    """Render templates in the strings of a JSON-like value, recursively.

    A string that is exactly one ``{{ path }}`` becomes the value at that path with its
    own type (a list stays a list; a missing path becomes ``None``); containers are
    copied so later changes to the result do not reach the scope.
    """
    if isinstance(value, str):
        return _render_string_value(value, scope)
    if isinstance(value, Mapping):
        return {key: render_value(item, scope) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(item, scope) for item in value]
    return value


def _render_string_value(text: str, scope: Mapping[str, Any]) -> Any:
    if _OPEN not in text:
        return text
    path = _compile(text).whole
    if path is None:
        return render(text, scope)
    found = _resolve(path, scope)
    if found is _MISSING:
        return None
    return copy.deepcopy(found) if isinstance(found, Mapping | list) else found


def template_paths(text: str) -> list[str]:
    """The paths of the placeholders in ``text``, in order, as written between the braces."""
    if _OPEN not in text:
        return []
    return [part.text for part in _compile(text).parts if isinstance(part, _Path)]


class UnsafeValue(ValueError):
    """A rendered value cannot go where its template puts it; the message says why."""


@dataclass
class _UrlBuilder:
    """Appends literal text as written and values encoded for the URL part they are in."""

    out: list[str]
    part: str = "path"
    segment: list[str] = field(default_factory=list)
    segment_has_value: bool = False

    def literal(self, text: str) -> None:
        for char in text:
            if self.part == "path" and char in "/?#":
                self._end_segment()
            if char == "?" and self.part == "path":
                self.part = "query"
            elif char == "#":
                self.part = "fragment"
            elif self.part == "path" and char != "/":
                self.segment.append(char)
            self.out.append(char)

    def value(self, text: str) -> None:
        encoded = quote(text, safe="")
        self.out.append(encoded)
        if self.part == "path":
            self.segment.append(encoded)
            self.segment_has_value = True

    def _end_segment(self) -> None:
        if self.segment_has_value and unquote("".join(self.segment)) in (".", ".."):
            raise UnsafeValue("a URL path segment taken from a variable cannot be '.' or '..'")
        self.segment, self.segment_has_value = [], False

    def finish(self) -> str:
        if self.part == "path":
            self._end_segment()
        return "".join(self.out)


def render_url(text: str, scope: Mapping[str, Any]) -> str:
    """Interpolate a URL template, encoding each value for the part of the URL it is in.

    The scheme and authority (``https://user@host:port``) must be written out: a
    template with ``{{`` there is refused. In the path a value is one segment (``/``,
    ``?``, ``#`` are encoded; ``.`` and ``..`` are refused); in the query and fragment
    ``&``, ``=``, ``#`` and the rest are encoded, so a value never adds a parameter.
    """
    origin = url_origin(text)
    if origin is None:
        raise UnsafeValue(f"the URL {ORIGIN_RULE}")
    builder = _UrlBuilder([origin])
    for part in _compile(text[len(origin) :]).parts:
        if isinstance(part, str):
            builder.literal(part)
        else:
            builder.value(_to_text(_resolve(part, scope)))
    return builder.finish()


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def render_header(name: str, text: str, scope: Mapping[str, Any]) -> str:
    """Interpolate a header value; line breaks, control characters and non-ASCII are refused.

    HTTP header values are ASCII: a value such as "José" is refused with a clear reason
    (rather than sent mis-encoded); send such data in the body.
    """
    value = render(text, scope)
    if "\r" in value or "\n" in value:
        raise UnsafeValue(f"header {name}: a value cannot contain a line break")
    if _CONTROL.search(value):
        raise UnsafeValue(f"header {name}: a value cannot contain control characters")
    if not value.isascii():
        raise UnsafeValue(
            f"header {name}: {value!r} is not ASCII; header values must be ASCII "
            "(send it in the body instead)"
        )
    return value


@lru_cache(maxsize=1024)
def _json_template(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise UnsafeValue(
            "the body looks like JSON but is not valid JSON: put each {{...}} inside a string"
        ) from None


_FORM: Final = "application/x-www-form-urlencoded"


def render_body(body: Any, scope: Mapping[str, Any], *, content_type: str = "") -> Any:
    """Render a call's body; a JSON body is rendered structurally, never as text.

    An object or list body, or a string body that is a JSON object or list, has its
    string values rendered by :func:`render_value`: a value can never close a string or
    add a key, and a string that is exactly one ``{{ path }}`` keeps the variable's JSON
    type. A form body (``content_type`` is ``application/x-www-form-urlencoded``) has its
    values percent-encoded, so a value never adds a field. Any other string body is plain
    text and is rendered as text.
    """
    if not isinstance(body, str):
        return render_value(body, scope)
    if body.lstrip().startswith(("{", "[")):
        return render_value(_json_template(body), scope)
    if content_type.split(";")[0].strip().lower() == _FORM and _OPEN in body:
        return "".join(
            part if isinstance(part, str) else quote(_to_text(_resolve(part, scope)), safe="")
            for part in _compile(body).parts
        )
    return render(body, scope)
