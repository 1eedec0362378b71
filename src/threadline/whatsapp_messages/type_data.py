"""A message's ``message_type_data``: the reference's per-type fields, read from its payload.

The payload is Meta's message object for an inbound message and the send body for an
outbound one; both keep the content under the key named by ``type``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")


def type_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The reference's ``<Type>MessageData`` of the message, without empty fields."""
    kind = str(payload.get("type", ""))
    part = payload.get(kind)
    body: dict[str, Any] = part if isinstance(part, dict) else {}
    if kind == "contacts":
        data = {"contacts": part if isinstance(part, list) else None}
    elif kind in MEDIA_TYPES:
        data = _media(body)
    else:
        reader = _READERS.get(kind)
        data = reader(body) if reader else {}
    return {key: value for key, value in data.items() if value is not None}


def _media(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "caption": body.get("caption"),
        "media_id": body.get("id"),
        "mime_type": body.get("mime_type"),
        "filename": body.get("filename"),
        "link": body.get("link"),
    }


def _location(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "latitude": body.get("latitude"),
        "longitude": body.get("longitude"),
        "location_name": body.get("name"),
        "location_address": body.get("address"),
    }


def _template(body: dict[str, Any]) -> dict[str, Any]:
    language = body.get("language")
    params = [
        str(parameter.get("text", ""))
        for component in body.get("components") or []
        for parameter in component.get("parameters") or []
        if isinstance(parameter, dict) and parameter.get("type") == "text"
    ]
    return {
        "template_name": body.get("name"),
        "template_language": language.get("code") if isinstance(language, dict) else None,
        "template_params": params,
    }


def _interactive(body: dict[str, Any]) -> dict[str, Any]:
    reply = body.get("button_reply") or body.get("list_reply")
    if isinstance(reply, dict):
        return {"reply_option_id": reply.get("id"), "reply_option_title": reply.get("title")}
    action = body.get("action") or {}
    buttons = [b.get("reply", {}) for b in action.get("buttons") or [] if isinstance(b, dict)]
    return {
        "interactive_type": body.get("type"),
        "body_text": (body.get("body") or {}).get("text"),
        "header_text": (body.get("header") or {}).get("text"),
        "footer_text": (body.get("footer") or {}).get("text"),
        "buttons": buttons or None,
        "sections": action.get("sections"),
        "list_button_text": action.get("button"),
    }


def _button(body: dict[str, Any]) -> dict[str, Any]:
    # An inbound tap on a template's quick-reply button.
    return {"reply_option_id": body.get("payload"), "reply_option_title": body.get("text")}


_READERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "text": lambda body: {"text": body.get("body")},
    "location": _location,
    "template": _template,
    "interactive": _interactive,
    "button": _button,
    "reaction": lambda body: {
        "reaction_emoji": body.get("emoji"),
        "reacted_to_message_id": body.get("message_id"),
    },
}
