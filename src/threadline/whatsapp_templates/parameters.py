"""A send's parameters checked against its template, then Meta's ``template.components``.

Every problem is collected (a 422 lists them all); nothing is queued unless there are none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from threadline.whatsapp_templates.components import MEDIA_HEADERS, placeholders, section

_VALUE_MAX, _BODY_ONLY_MAX = 1024, 32768


@dataclass(frozen=True)
class SendParameters:
    """What a send fills in: body values, the header, and URL/code button values by index."""

    body: Sequence[str] | Mapping[str, str] | None = None
    header_type: str | None = None
    header: str | None = None
    header_filename: str | None = None
    buttons: Mapping[str, str] = field(default_factory=dict)


def build(
    components: list[dict[str, Any]], fmt: str, params: SendParameters
) -> tuple[list[dict[str, Any]], list[str]]:
    """Meta's send components for ``params``, and every problem found (empty: send it)."""
    problems: list[str] = []
    only_body = len(components) == 1
    out = [
        *_header(section(components, "HEADER"), fmt, params, problems),
        *_body(section(components, "BODY"), fmt, params, problems, only_body),
        *_buttons(section(components, "BUTTONS"), params, problems),
    ]
    return out, problems


def _value(where: str, value: Any, problems: list[str], maximum: int = _VALUE_MAX) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: a non-empty text value is required")
        return ""
    if len(value) > maximum:
        problems.append(f"{where}: at most {maximum} characters (got {len(value)})")
    return value


def _text_parameter(name: str, value: str, fmt: str) -> dict[str, Any]:
    parameter = {"type": "text", "text": value}
    return {**parameter, "parameter_name": name} if fmt == "NAMED" else parameter


def _body(
    body: dict[str, Any] | None,
    fmt: str,
    params: SendParameters,
    problems: list[str],
    only_body: bool,
) -> list[dict[str, Any]]:
    names = placeholders(str((body or {}).get("text", "")))
    values = _values_for(names, fmt, params.body, problems)
    if not names:
        return []
    maximum = _BODY_ONLY_MAX if only_body else _VALUE_MAX
    parameters = [
        _text_parameter(
            n, _value(f"template_parameters.{n}", values.get(n), problems, maximum), fmt
        )
        for n in names
    ]
    return [{"type": "body", "parameters": parameters}]


def _values_for(
    names: list[str], fmt: str, given: Sequence[str] | Mapping[str, str] | None, problems: list[str]
) -> dict[str, Any]:
    given = given if given is not None else ([] if fmt == "POSITIONAL" else {})
    if fmt == "POSITIONAL":
        if not isinstance(given, Sequence) or isinstance(given, str):
            problems.append("template_parameters: a list of values for {{1}}, {{2}}, ...")
            return {}
        if len(given) != len(names):
            problems.append(
                f"template_parameters: the template requires {len(names)} parameter(s), "
                f"but {len(given)} were provided"
            )
        return {str(i): value for i, value in enumerate(given, start=1)}
    if not isinstance(given, Mapping):
        problems.append('template_parameters: an object of named values, e.g. {"name": "Ana"}')
        return {}
    missing, extra = [n for n in names if n not in given], sorted(set(given) - set(names))
    if missing:
        problems.append(f"template_parameters: missing {missing}")
    if extra:
        problems.append(f"template_parameters: the template has no parameter(s) {extra}")
    return dict(given)


def _header(
    header: dict[str, Any] | None, fmt: str, params: SendParameters, problems: list[str]
) -> list[dict[str, Any]]:
    if header is None:
        if params.header is not None:
            problems.append("header_params: the template has no header")
        return []
    kind = str(header.get("format", "TEXT")).upper()
    if params.header_type is not None and params.header_type.upper() != kind:
        problems.append(f"header_type: the template's header is {kind.lower()}")
    if kind in MEDIA_HEADERS:
        return [_media_header(kind, params, problems)]
    names = placeholders(str(header.get("text", ""))) if kind == "TEXT" else []
    if not names:
        return []
    value = params.header
    if value is None and fmt == "NAMED" and isinstance(params.body, Mapping):
        value = params.body.get(names[0])
    parameter = _text_parameter(names[0], _value("header_params", value, problems, 60), fmt)
    return [{"type": "header", "parameters": [parameter]}]


def _media_header(kind: str, params: SendParameters, problems: list[str]) -> dict[str, Any]:
    link = params.header or ""
    if not link.startswith(("https://", "http://")):
        problems.append(f"header_params: the {kind.lower()} header's http(s) URL is required")
    media_type = "image" if kind == "GIF" else kind.lower()
    media: dict[str, Any] = {"link": link}
    if media_type == "document" and params.header_filename:
        media["filename"] = params.header_filename
    return {"type": "header", "parameters": [{"type": media_type, media_type: media}]}


def _buttons(
    buttons: dict[str, Any] | None, params: SendParameters, problems: list[str]
) -> list[dict[str, Any]]:
    out = []
    listed = buttons.get("buttons", []) if buttons else []
    for index, button in enumerate(listed):
        kind = str(button.get("type", "")).upper()
        needs_value = (kind == "URL" and placeholders(str(button.get("url", "")))) or kind in (
            "COPY_CODE",
            "OTP",
        )
        if not needs_value:
            continue
        where = f"button_url_params.{index}"
        value = _value(where, params.buttons.get(str(index)), problems, 2000)
        out.append(_button(kind, index, value))
    return out


def _button(kind: str, index: int, value: str) -> dict[str, Any]:
    if kind == "COPY_CODE":
        parameter = {"type": "coupon_code", "coupon_code": value}
        return {
            "type": "button",
            "sub_type": "copy_code",
            "index": str(index),
            "parameters": [parameter],
        }
    return {
        "type": "button",
        "sub_type": "url",
        "index": str(index),
        "parameters": [{"type": "text", "text": value}],
    }


#: Keys of a broadcast recipient's named values that fill the header, not the body.
HEADER_KEYS = ("header_url", "header_text", "header_filename")


def of_values(values: Any) -> SendParameters:
    """A broadcast recipient's ``template_parameters`` as a send's: a list fills the body's
    ``{{1}}``, ``{{2}}``...; an object its named values, ``header_url`` (a media header's
    link) or ``header_text`` and ``header_filename`` filling the header."""
    if not isinstance(values, Mapping):
        return SendParameters(body=values)
    body = {key: value for key, value in values.items() if key not in HEADER_KEYS}
    header = values.get("header_url", values.get("header_text"))
    filename = values.get("header_filename")
    return SendParameters(
        body=body or None,
        header=header if isinstance(header, str) else None,
        header_filename=filename if isinstance(filename, str) else None,
    )
