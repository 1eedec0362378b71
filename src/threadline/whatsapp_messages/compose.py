"""A ``MessageIn`` → the Graph API's send body, Meta's limits checked by ``whatsapp.payloads``.

Every builder raises ``ValueError`` with what to change; nothing is stored before this runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from threadline.whatsapp import payloads
from threadline.whatsapp_messages.schemas import MessageIn

T = TypeVar("T")


def compose(to: str, message: MessageIn, *, reacted_wamid: str | None = None) -> dict[str, Any]:
    """The send body of ``message`` to the wa_id ``to``; ValueError names the field to fix."""
    kind = message.message_type
    if kind in payloads.MEDIA_KINDS:
        return _media(to, message)
    if kind == "reaction":
        return payloads.reaction_message(
            to, _required(reacted_wamid, "reacted_to_message_id"), message.reaction_emoji or ""
        )
    return _BUILDERS[kind](to, message)


def _required(value: T | None, field: str) -> T:
    if value is None or value == "":
        raise ValueError(f"{field} is required for this message_type")
    return value


def _text(to: str, message: MessageIn) -> dict[str, Any]:
    return payloads.text_message(to, _required(message.content, "content"), preview_url=True)


def _media(to: str, message: MessageIn) -> dict[str, Any]:
    caption = message.caption
    if caption is None and message.message_type in ("image", "video", "document"):
        caption = message.content or None
    return payloads.media_message(
        to,
        message.message_type,
        link=message.media_url,
        media_id=message.media_id,
        caption=caption,
        filename=message.filename,
    )


def _location(to: str, message: MessageIn) -> dict[str, Any]:
    return payloads.location_message(
        to,
        _required(message.latitude, "latitude"),
        _required(message.longitude, "longitude"),
        name=message.location_name,
        address=message.location_address,
    )


def _interactive(to: str, message: MessageIn) -> dict[str, Any]:
    body = _required(message.body_text or message.content, "body_text")
    extras = {"header_text": message.header_text, "footer_text": message.footer_text}
    if message.interactive_type == "list":
        button = _required(message.list_button_text, "list_button_text")
        return payloads.list_message(
            to, body, button, _required(message.sections, "sections"), **extras
        )
    buttons = [(b.id, b.title) for b in _required(message.buttons, "buttons")]
    return payloads.button_message(to, body, buttons, **extras)


def _template(to: str, message: MessageIn) -> dict[str, Any]:
    name = _required(message.template_name, "template_name")
    language = _required(message.template_language, "template_language")
    params = message.template_params
    if isinstance(params, dict) and any(isinstance(v, dict) for v in params.values()):
        header, body = params.get("header"), params.get("body")
        if set(params) - {"header", "body"} or not all(
            isinstance(part, dict | None) for part in (header, body)
        ):
            raise ValueError("template_params by component takes only header and body objects")
        components = payloads.template_components(header, body)  # type: ignore[arg-type]
        return payloads.template_message(to, name, language, components=components)
    return payloads.template_message(to, name, language, params)  # type: ignore[arg-type]


def _contacts(to: str, message: MessageIn) -> dict[str, Any]:
    return payloads.contacts_message(to, _required(message.contacts, "contacts"))


_BUILDERS: dict[str, Callable[[str, MessageIn], dict[str, Any]]] = {
    "text": _text,
    "location": _location,
    "interactive": _interactive,
    "template": _template,
    "contacts": _contacts,
}
