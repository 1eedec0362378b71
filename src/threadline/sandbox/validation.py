"""Validation of ``POST /{phone_number_id}/messages`` bodies, mirroring Meta's checks."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from threadline.sandbox import checks
from threadline.sandbox.config import TemplateSpec
from threadline.sandbox.faults import GraphFault, invalid_parameter, invalid_value
from threadline.sandbox.interactive import validate_interactive, validate_media_object
from threadline.sandbox.state import SandboxState, Template, digits
from threadline.sandbox.templates import expected_parameters
from threadline.whatsapp import limits

_PHONE = re.compile(r"\+?[0-9 ()\-.]+")
_MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
_ID_MAX = 1024


@dataclass(frozen=True)
class OutgoingMessage:
    """A valid message send: its type, the ``to`` as given and its digits-only ``wa_id``."""

    kind: str
    to: str
    wa_id: str


@dataclass(frozen=True)
class ReadReceipt:
    """A valid mark-as-read request."""

    message_id: str
    typing_indicator: bool


def validate_message(payload: Any, state: SandboxState) -> OutgoingMessage | ReadReceipt:
    """Check a send body like Meta does; raises :class:`GraphFault` on the first problem."""
    payload = checks.as_obj(payload, "request body")
    if payload.get("messaging_product") is None:
        raise invalid_parameter("The parameter messaging_product is required.")
    checks.one_of(payload, "messaging_product", frozenset({"whatsapp"}), "messaging_product")
    if "status" in payload:
        return _read_receipt(payload)
    to, wa_id = _recipient(payload)
    kind = payload.get("type", "text")  # Meta treats a missing type as text.
    validator = _VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:
        raise invalid_parameter(f"Param type must be one of {sorted(_VALIDATORS)}; got {kind!r}")
    validator(payload, state)
    _check_envelope_extras(payload)
    return OutgoingMessage(kind, to, wa_id)


def _read_receipt(payload: Mapping[str, Any]) -> ReadReceipt:
    checks.one_of(payload, "status", frozenset({"read"}), "status")
    message_id = checks.required_str(payload, "message_id", "message_id", _ID_MAX)
    indicator = payload.get("typing_indicator")
    if indicator is not None:
        indicator = checks.obj(payload, "typing_indicator", "typing_indicator")
        checks.one_of(indicator, "type", frozenset({"text"}), "typing_indicator.type")
    return ReadReceipt(message_id, indicator is not None)


def _recipient(payload: Mapping[str, Any]) -> tuple[str, str]:
    to = payload.get("to")
    if to is None or to == "":
        raise invalid_parameter("The parameter to is required.")
    if not isinstance(to, str) or not _PHONE.fullmatch(to) or not 6 <= len(digits(to)) <= 15:
        raise invalid_parameter(f"Param to must be a phone number; got {to!r}")
    return to, digits(to)


def _check_envelope_extras(payload: Mapping[str, Any]) -> None:
    if payload.get("recipient_type", "individual") != "individual":
        raise invalid_parameter("Param recipient_type must be 'individual' (groups not emulated)")
    if payload.get("context") is not None:
        context = checks.obj(payload, "context", "context")
        checks.required_str(context, "message_id", "context.message_id", _ID_MAX)
    checks.optional_str(
        payload,
        "biz_opaque_callback_data",
        "biz_opaque_callback_data",
        limits.BIZ_OPAQUE_CALLBACK_DATA_MAX,
    )


def _text(payload: Mapping[str, Any], state: SandboxState) -> None:
    text = checks.obj(payload, "text", "text")
    checks.required_str(text, "body", "text.body", limits.TEXT_BODY_MAX)
    if not isinstance(text.get("preview_url", False), bool):
        raise invalid_parameter("Param text.preview_url must be a boolean")


def _media(kind: str) -> Callable[[Mapping[str, Any], SandboxState], None]:
    def check(payload: Mapping[str, Any], state: SandboxState) -> None:
        validate_media_object(checks.obj(payload, kind, kind), kind, kind)

    return check


def _location(payload: Mapping[str, Any], state: SandboxState) -> None:
    location = checks.obj(payload, "location", "location")
    _coordinate(location, "latitude", 90)
    _coordinate(location, "longitude", 180)
    checks.optional_str(location, "name", "location.name", 1000)
    checks.optional_str(location, "address", "location.address", 1000)


def _coordinate(location: Mapping[str, Any], key: str, bound: float) -> None:
    value = location.get(key)
    if value is None:
        raise invalid_parameter(f"The parameter location.{key} is required.")
    try:
        number = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not -bound <= number <= bound:
        raise invalid_value(f"Param location.{key} must be a number between -{bound} and {bound}")


def _contacts(payload: Mapping[str, Any], state: SandboxState) -> None:
    contacts = checks.array(payload, "contacts", "contacts")
    checks.count(contacts, 1, 257, "contacts")
    for i, contact in enumerate(contacts):
        name = checks.obj(checks.as_obj(contact, f"contacts[{i}]"), "name", f"contacts[{i}].name")
        checks.required_str(name, "formatted_name", f"contacts[{i}].name.formatted_name", 1000)


def _reaction(payload: Mapping[str, Any], state: SandboxState) -> None:
    reaction = checks.obj(payload, "reaction", "reaction")
    checks.required_str(reaction, "message_id", "reaction.message_id", _ID_MAX)
    if not isinstance(reaction.get("emoji"), str):
        raise invalid_parameter('The parameter reaction.emoji is required ("" removes it).')


def _interactive(payload: Mapping[str, Any], state: SandboxState) -> None:
    validate_interactive(payload)


def _template(payload: Mapping[str, Any], state: SandboxState) -> None:
    content = checks.obj(payload, "template", "template")
    name = checks.required_str(content, "name", "template.name", 512)
    language = checks.obj(content, "language", "template.language")
    code = checks.required_str(language, "code", "template.language.code", 15)
    template = _sendable(state.find_template(name, code), name, code)
    supplied = _supplied_parameters(content)
    for section in ("header", "body"):
        _check_section(template.spec, section, supplied.get(section, []))


def _sendable(template: Template | None, name: str, code: str) -> Template:
    status = template.spec.status if template else None
    if status == "PAUSED":
        raise GraphFault(132015, f"Template {name} ({code}) is paused")
    if status == "DISABLED":
        raise GraphFault(132016, f"Template {name} ({code}) is disabled")
    if template is None or status != "APPROVED":
        details = f"template name ({name}) does not exist in {code}"
        raise GraphFault(132001, details, http_status=404)
    return template


def _supplied_parameters(content: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    components = content.get("components", [])
    if not isinstance(components, list):
        raise invalid_parameter("Param template.components must be a JSON array")
    supplied: dict[str, list[Mapping[str, Any]]] = {}
    for i, raw in enumerate(components):
        where = f"template.components[{i}]"
        component = checks.as_obj(raw, where)
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list):
            raise invalid_parameter(f"Param {where}.parameters must be a JSON array")
        kind = str(component.get("type", "")).lower()
        for j, parameter in enumerate(parameters):
            supplied.setdefault(kind, []).append(_parameter(parameter, f"{where}.parameters[{j}]"))
    return supplied


def _parameter(raw: Any, where: str) -> Mapping[str, Any]:
    parameter = checks.as_obj(raw, where)
    if not isinstance(parameter.get("type"), str):
        raise invalid_parameter(f"The parameter {where}.type is required.")
    if parameter["type"] == "text":
        checks.required_str(parameter, "text", f"{where}.text", limits.TEMPLATE_TEXT_PARAM_MAX)
    return parameter


_MEDIA_HEADERS: dict[str, tuple[str, ...]] = {
    "IMAGE": ("image",),
    "VIDEO": ("video",),
    "DOCUMENT": ("document",),
    "GIF": ("image", "video"),
}


def _check_media_header(kinds: tuple[str, ...], parameters: list[Mapping[str, Any]]) -> None:
    """A media header takes exactly one parameter of its media type, in either format."""
    if len(parameters) != 1:
        raise GraphFault(
            132000,
            f"header: number of localizable_params ({len(parameters)}) does not match "
            "the expected number of params (1)",
        )
    if parameters[0].get("type") not in kinds:
        raise GraphFault(132012, f"header: a {'/'.join(kinds)} parameter is required")


def _check_section(spec: TemplateSpec, section: str, parameters: list[Mapping[str, Any]]) -> None:
    header = next((c for c in spec.components if str(c.get("type", "")).upper() == "HEADER"), {})
    media = _MEDIA_HEADERS.get(str(header.get("format", "TEXT")).upper())
    if section == "header" and media is not None:
        _check_media_header(media, parameters)
        return
    expected = expected_parameters(spec, section)
    names = [parameter.get("parameter_name") for parameter in parameters]
    named = spec.parameter_format == "NAMED"
    if any((name is None) == named for name in names):
        raise GraphFault(
            132012,
            f"{section}: parameters must match the template's {spec.parameter_format} format",
        )
    if len(parameters) != len(expected):
        raise GraphFault(
            132000,
            f"{section}: number of localizable_params ({len(parameters)}) does not match "
            f"the expected number of params ({len(expected)})",
        )
    if named and sorted(map(str, names)) != sorted(expected):
        raise GraphFault(132000, f"{section}: parameter names {names} do not match {expected}")


_VALIDATORS: dict[str, Callable[[Mapping[str, Any], SandboxState], None]] = {
    "text": _text,
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "interactive": _interactive,
    "template": _template,
    **{kind: _media(kind) for kind in _MEDIA_TYPES},
}
