"""Template placeholders and validation of template create requests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from threadline.sandbox.config import TemplateSpec
from threadline.sandbox.faults import GraphFault, invalid_parameter

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_POSITIONAL_NAME = re.compile(r"[1-9][0-9]*")
_NAMED_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")

CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
PARAMETER_FORMATS = frozenset({"POSITIONAL", "NAMED"})
_SECTIONS = frozenset({"HEADER", "BODY", "FOOTER", "BUTTONS"})
_HEADER_FORMATS = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "GIF"})
_BUTTON_TYPES = frozenset(
    {"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM"}
)
_BODY_MAX, _HEADER_MAX, _FOOTER_MAX, _BUTTON_TEXT_MAX, _BUTTONS_MAX = 1024, 60, 60, 25, 10


def placeholders(text: str) -> list[str]:
    """Distinct placeholder names in ``text``, in order of first appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def expected_parameters(template: TemplateSpec, section: str) -> list[str]:
    """Placeholder names a send must fill for one section (``"body"`` or ``"header"``)."""
    for component in template.components:
        if str(component.get("type", "")).upper() == section.upper():
            return placeholders(str(component.get("text", "")))
    return []


def parse_create_request(body: Any) -> TemplateSpec:
    """Validate a ``POST /{waba_id}/message_templates`` body; raises :class:`GraphFault`."""
    if not isinstance(body, Mapping):
        raise invalid_parameter("The request body must be a JSON object")
    name = _matching(body, "name", _TEMPLATE_NAME, "lowercase letters, digits and underscores")
    language = _matching(body, "language", _LANGUAGE, "a locale code such as en_US or es")
    category = _one_of(body, "category", CATEGORIES, default=None)
    fmt = _one_of(body, "parameter_format", PARAMETER_FORMATS, default="POSITIONAL")
    components = _components(body.get("components"), fmt)
    return TemplateSpec.model_validate(
        {
            "name": name,
            "language": language,
            "category": category,
            "parameter_format": fmt,
            "components": components,
        }
    )


def _matching(body: Mapping[str, Any], key: str, pattern: re.Pattern[str], hint: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise invalid_parameter(f"Param {key} must be {hint}; got {value!r}")
    return value


def _one_of(body: Mapping[str, Any], key: str, allowed: frozenset[str], default: str | None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or value.upper() not in allowed:
        raise invalid_parameter(f"Param {key} must be one of {sorted(allowed)}; got {value!r}")
    return value.upper()


def _components(raw: Any, fmt: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise invalid_parameter("Param components must be a list of objects")
    components = [{**item, "type": str(item.get("type", "")).upper()} for item in raw]
    kinds = [component["type"] for component in components]
    if unknown := set(kinds) - _SECTIONS:
        raise invalid_parameter(f"Unknown component type(s) {sorted(unknown)}")
    if len(set(kinds)) != len(kinds) or "BODY" not in kinds:
        raise invalid_parameter("Exactly one BODY and at most one of each other component")
    for component in components:
        _CHECKS[component["type"]](component, fmt)
    return components


def _check_body(component: dict[str, Any], fmt: str) -> None:
    text = _text(component, "BODY", _BODY_MAX)
    names = _check_placeholders(text, fmt, "BODY")
    if text.strip().startswith("{{") or text.strip().endswith("}}"):
        raise invalid_parameter("BODY: variables can't be at the start or end of the template")
    _check_examples(component, names, fmt, "body")


def _check_header(component: dict[str, Any], fmt: str) -> None:
    header_format = str(component.get("format", "TEXT")).upper()
    if header_format not in _HEADER_FORMATS:
        raise invalid_parameter(f"HEADER format must be one of {sorted(_HEADER_FORMATS)}")
    if header_format != "TEXT":
        return
    names = _check_placeholders(_text(component, "HEADER", _HEADER_MAX), fmt, "HEADER")
    if len(names) > 1:
        raise invalid_parameter("HEADER: a text header takes at most one variable")
    _check_examples(component, names, fmt, "header")


def _check_footer(component: dict[str, Any], fmt: str) -> None:
    if placeholders(_text(component, "FOOTER", _FOOTER_MAX)):
        raise invalid_parameter("FOOTER: variables are not allowed in the footer")


def _check_buttons(component: dict[str, Any], fmt: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= _BUTTONS_MAX:
        raise invalid_parameter(f"BUTTONS: between 1 and {_BUTTONS_MAX} buttons are required")
    for button in buttons:
        kind = str(button.get("type", "")).upper() if isinstance(button, Mapping) else ""
        if kind not in _BUTTON_TYPES:
            raise invalid_parameter(f"BUTTONS: button type must be one of {sorted(_BUTTON_TYPES)}")
        if kind in {"QUICK_REPLY", "URL", "PHONE_NUMBER"}:
            _text(button, f"{kind} button", _BUTTON_TEXT_MAX)
    kinds = [str(button.get("type", "")).upper() for button in buttons]
    if kinds.count("URL") > 2 or kinds.count("PHONE_NUMBER") > 1:
        raise invalid_parameter("BUTTONS: at most 2 URL buttons and 1 PHONE_NUMBER button")


_CHECKS = {
    "BODY": _check_body,
    "HEADER": _check_header,
    "FOOTER": _check_footer,
    "BUTTONS": _check_buttons,
}


def _text(component: Mapping[str, Any], where: str, maximum: int) -> str:
    text = component.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= maximum:
        raise invalid_parameter(f"{where}: text is required and at most {maximum} characters")
    return text


def _check_placeholders(text: str, fmt: str, where: str) -> list[str]:
    names = placeholders(text)
    if re.search(r"\}\}\s*\{\{", text):
        raise invalid_parameter(f"{where}: variables can't be adjacent to each other")
    if fmt == "POSITIONAL":
        if not all(_POSITIONAL_NAME.fullmatch(name) for name in names):
            raise _format_mismatch(where, fmt)
        if sorted(int(name) for name in names) != list(range(1, len(names) + 1)):
            raise invalid_parameter(f"{where}: positional variables must be numbered from 1")
    if fmt == "NAMED" and not all(_NAMED_NAME.fullmatch(name) for name in names):
        raise _format_mismatch(where, fmt)
    return names


def _format_mismatch(where: str, fmt: str) -> GraphFault:
    return invalid_parameter(f"{where}: variables don't match parameter_format {fmt}")


def _check_examples(component: Mapping[str, Any], names: list[str], fmt: str, section: str) -> None:
    if not names:
        return
    example = component.get("example")
    example = example if isinstance(example, Mapping) else {}
    if fmt == "NAMED":
        given = example.get(f"{section}_text_named_params")
        given_names = [p.get("param_name") for p in given or [] if isinstance(p, Mapping)]
        ok = sorted(str(name) for name in given_names) == sorted(names)
    else:
        given = example.get(f"{section}_text")
        if section == "body":
            given = given[0] if isinstance(given, list) and given else None
        ok = isinstance(given, list) and len(given) == len(names)
    if not ok:
        raise invalid_parameter(f"{section.upper()}: an example is required for each variable")
