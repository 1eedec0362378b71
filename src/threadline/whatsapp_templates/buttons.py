"""Meta's rules for a template's BUTTONS component: types, counts, labels, URLs, codes."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from threadline.whatsapp_templates.components import (
    BUTTON_TYPES,
    BUTTONS_MAX,
    LABEL_MAX,
    MAX_COUNT,
    OTP_TYPES,
    PHONE,
    URL_MAX,
    Context,
    placeholders,
    required_text,
)

_LABELLED = ("QUICK_REPLY", "URL", "PHONE_NUMBER")


def check_buttons(component: dict[str, Any], ctx: Context) -> None:
    """Append every problem of a BUTTONS component to ``ctx``."""
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        ctx.add(f"buttons: between 1 and {BUTTONS_MAX} buttons")
        return
    kinds = []
    for i, button in enumerate(buttons):
        inner = Context(f"{ctx.where}.buttons[{i}]", ctx.fmt, ctx.category, ctx.problems)
        kinds.append(_check_button(button, inner))
    for kind, most in MAX_COUNT.items():
        if kinds.count(kind) > most:
            ctx.add(f"buttons: at most {most} {kind} button(s)")
    if _interleaved(kinds):
        ctx.add("buttons: quick replies and other buttons must be grouped separately")


def _check_button(button: Any, ctx: Context) -> str:
    kind = str(button.get("type", "")).upper() if isinstance(button, Mapping) else ""
    if kind not in BUTTON_TYPES:
        ctx.add(f"type: one of {', '.join(BUTTON_TYPES)}")
        return kind
    assert isinstance(button, Mapping)
    if kind in _LABELLED:
        required_text(button, ctx, LABEL_MAX)
    _BUTTON_CHECKS.get(kind, lambda _b, _c: None)(button, ctx)
    return kind


def _check_url(button: Mapping[str, Any], ctx: Context) -> None:
    url = required_text(button, ctx, URL_MAX, key="url")
    if url and not url.startswith(("https://", "http://")):
        ctx.add("url: an http:// or https:// address")
    names = placeholders(url)
    if len(names) > 1:
        ctx.add("url: at most one variable")
    elif names and not url.rstrip().endswith("}}"):
        ctx.add("url: the variable must be at the end of the URL")
    example = button.get("example")
    if names and not (isinstance(example, list) and example and isinstance(example[0], str)):
        ctx.add("example: a URL with a variable needs an example value")


def _check_phone(button: Mapping[str, Any], ctx: Context) -> None:
    phone = button.get("phone_number")
    if not isinstance(phone, str) or not PHONE.fullmatch(phone.replace(" ", "")):
        ctx.add("phone_number: a phone number in international format, e.g. +15550051310")


def _check_copy_code(button: Mapping[str, Any], ctx: Context) -> None:
    example = button.get("example")
    if not isinstance(example, str) or not 1 <= len(example) <= 15:
        ctx.add("example: the offer code, at most 15 characters")
    if ctx.category != "MARKETING":
        ctx.add("type: COPY_CODE buttons belong to MARKETING templates")


def _check_otp(button: Mapping[str, Any], ctx: Context) -> None:
    if str(button.get("otp_type", "")).upper() not in OTP_TYPES:
        ctx.add(f"otp_type: one of {', '.join(OTP_TYPES)}")
    if ctx.category != "AUTHENTICATION":
        ctx.add("type: OTP buttons belong to AUTHENTICATION templates")


_BUTTON_CHECKS = {
    "URL": _check_url,
    "PHONE_NUMBER": _check_phone,
    "COPY_CODE": _check_copy_code,
    "OTP": _check_otp,
}


def _interleaved(kinds: list[str]) -> bool:
    """Whether quick replies are split by other buttons (Meta wants two groups)."""
    groups = [kind == "QUICK_REPLY" for kind in kinds]
    changes = sum(1 for a, b in itertools.pairwise(groups) if a != b)
    return changes > 1
