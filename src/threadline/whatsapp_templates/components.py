"""Meta's rules for a template's components, checked before anything is stored or submitted.

Every check appends problems instead of raising, so one answer lists everything to fix
(research/whatsapp.md §3.2: limits, counts, placeholders and their examples).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_POSITIONAL = re.compile(r"[1-9][0-9]*")
_NAMED = re.compile(r"[a-z][a-z0-9_]{0,19}")
NAME = re.compile(r"[a-z0-9_]{1,512}")
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
PHONE = re.compile(r"\+?[0-9]{6,20}")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
FORMATS = ("POSITIONAL", "NAMED")
_TYPES = ("HEADER", "BODY", "FOOTER", "BUTTONS")
MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT", "GIF")
_HEADER_FORMATS = ("TEXT", *MEDIA_HEADERS, "LOCATION")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP")
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")
MAX_COUNT = {"URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "OTP": 1, "QUICK_REPLY": 10}
BODY_MAX, HEADER_MAX, FOOTER_MAX, LABEL_MAX, URL_MAX, BUTTONS_MAX = 1024, 60, 60, 25, 2000, 10


def placeholders(text: str) -> list[str]:
    """Distinct placeholder names of ``text``, in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def section(components: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The component of type ``kind`` (HEADER, BODY, FOOTER, BUTTONS), if any."""
    return next((c for c in components if str(c.get("type", "")).upper() == kind), None)


def normalized(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Components with upper-case ``type``/``format`` and button types, as Meta writes them."""
    out = []
    for component in components:
        if not isinstance(component, Mapping):
            out.append(component)
            continue
        copy = {**component, "type": str(component.get("type", "")).upper()}
        if "format" in copy:
            copy["format"] = str(copy["format"]).upper()
        if isinstance(copy.get("buttons"), list):
            copy["buttons"] = [_upper_type(b) for b in copy["buttons"]]
        out.append(copy)
    return out


def _upper_type(button: Any) -> Any:
    if not isinstance(button, Mapping):
        return button
    return {**button, "type": str(button.get("type", "")).upper()}


def check_template(name: Any, language: Any, category: Any, fmt: Any, components: Any) -> list[str]:
    """Every problem of a template as Meta would review it (empty: it may be submitted)."""
    problems: list[str] = []
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.append("name: 1 to 512 lowercase letters, digits and underscores")
    if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
        problems.append("language_code: a locale code such as en_US or es")
    if category not in CATEGORIES:
        problems.append(f"category: one of {', '.join(CATEGORIES)}")
    if fmt not in FORMATS:
        problems.append(f"parameter_format: one of {', '.join(FORMATS)}")
    problems.extend(check_components(components, str(fmt), str(category)))
    return problems


def check_components(components: Any, fmt: str, category: str) -> list[str]:
    """Every problem of a components list (structure, limits, placeholders, examples)."""
    if not isinstance(components, list) or not all(isinstance(c, Mapping) for c in components):
        return ["components: a list of component objects"]
    problems: list[str] = []
    kinds = [str(c.get("type", "")).upper() for c in components]
    for i, kind in enumerate(kinds):
        if kind not in _TYPES:
            problems.append(f"components[{i}].type: one of {', '.join(_TYPES)}")
    if kinds.count("BODY") != 1:
        problems.append("components: exactly one BODY component is required")
    for kind in set(kinds) & set(_TYPES):
        if kinds.count(kind) > 1 and kind != "BODY":
            problems.append(f"components: at most one {kind} component")
    for i, (kind, component) in enumerate(zip(kinds, components, strict=True)):
        check = _CHECKS.get(kind)
        if check is not None:
            check(dict(component), Context(f"components[{i}]", fmt, category, problems))
    return problems


class Context:
    """Where a check is (``components[1]``), the template's format and category, and the
    list its problems go to."""

    def __init__(self, where: str, fmt: str, category: str, problems: list[str]) -> None:
        self.where, self.fmt, self.category, self.problems = where, fmt, category, problems

    def add(self, problem: str) -> None:
        """Record a problem of this component."""
        self.problems.append(f"{self.where}.{problem}")


def required_text(
    component: Mapping[str, Any], ctx: Context, maximum: int, key: str = "text"
) -> str:
    """The non-blank string at ``key``, its length checked ("" after recording a problem)."""
    text = component.get(key)
    if not isinstance(text, str) or not text.strip():
        ctx.add(f"{key}: is required")
        return ""
    if len(text) > maximum:
        ctx.add(f"{key}: at most {maximum} characters (got {len(text)})")
    return text


def _variables(text: str, ctx: Context) -> list[str]:
    names = placeholders(text)
    if re.search(r"\}\}\s*\{\{", text):
        ctx.add("text: variables can't be next to each other (INVALID_FORMAT)")
    pattern = _POSITIONAL if ctx.fmt == "POSITIONAL" else _NAMED
    wrong = [name for name in names if not pattern.fullmatch(name)]
    if wrong:
        style = "{{1}}, {{2}}, ..." if ctx.fmt == "POSITIONAL" else "lowercase {{first_name}}"
        ctx.add(f"text: {ctx.fmt} parameters are written {style}; got {wrong}")
    elif ctx.fmt == "POSITIONAL" and sorted(map(int, names)) != list(range(1, len(names) + 1)):
        ctx.add("text: positional variables are numbered in sequence from {{1}}")
    return names


def _check_body(component: dict[str, Any], ctx: Context) -> None:
    text = required_text(component, ctx, BODY_MAX)
    names = _variables(text, ctx)
    stripped = text.strip()
    if names and (stripped.startswith("{{") or stripped.endswith("}}")):
        ctx.add("text: a variable can't start or end the body")
    _check_examples(component, names, ctx, "body")


def _check_header(component: dict[str, Any], ctx: Context) -> None:
    fmt = str(component.get("format", "TEXT")).upper()
    if fmt not in _HEADER_FORMATS:
        ctx.add(f"format: one of {', '.join(_HEADER_FORMATS)}")
    elif fmt == "TEXT":
        names = _variables(required_text(component, ctx, HEADER_MAX), ctx)
        if len(names) > 1:
            ctx.add("text: a text header takes at most one variable")
        _check_examples(component, names, ctx, "header")
    elif fmt in MEDIA_HEADERS:
        example = component.get("example")
        handles = example.get("header_handle") if isinstance(example, Mapping) else None
        if (
            not isinstance(handles, list)
            or not handles
            or not all(isinstance(h, str) and h for h in handles)
        ):
            ctx.add(f"example.header_handle: a {fmt} header needs an uploaded media handle")


def _check_footer(component: dict[str, Any], ctx: Context) -> None:
    if placeholders(required_text(component, ctx, FOOTER_MAX)):
        ctx.add("text: the footer can't have variables")


def _check_examples(
    component: Mapping[str, Any], names: list[str], ctx: Context, part: str
) -> None:
    if not names:
        return
    example = component.get("example")
    example = example if isinstance(example, Mapping) else {}
    if ctx.fmt == "NAMED":
        given = example.get(f"{part}_text_named_params")
        found = {
            p.get("param_name"): p.get("example")
            for p in (given if isinstance(given, list) else [])
            if isinstance(p, Mapping)
        }
        missing = [n for n in names if not isinstance(found.get(n), str) or not found[n]]
        if missing:
            ctx.add(f"example.{part}_text_named_params: an example is required for {missing}")
        return
    given = example.get(f"{part}_text")
    if part == "body":
        given = given[0] if isinstance(given, list) and given else None
    if not isinstance(given, list) or len(given) != len(names):
        ctx.add(f"example.{part}_text: {len(names)} example value(s) are required, one a variable")


def _check_buttons(component: dict[str, Any], ctx: Context) -> None:
    from threadline.whatsapp_templates.buttons import check_buttons  # buttons import these

    check_buttons(component, ctx)


_CHECKS = {
    "HEADER": _check_header,
    "BODY": _check_body,
    "FOOTER": _check_footer,
    "BUTTONS": _check_buttons,
}
