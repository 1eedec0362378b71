"""A human-readable line for a message, inbound (Meta's message object) or outbound (a send body).

Both shapes put the message's kind in ``type`` and its content under a key of that
name, so one reader serves the inbox view of either direction.
"""

from __future__ import annotations

from typing import Any

_MEDIA = ("image", "video", "audio", "document", "sticker")


def describe(message: dict[str, Any]) -> str:
    """What a person reading the conversation should see for ``message``."""
    kind = str(message.get("type", ""))
    part = message.get(kind)
    body = part if isinstance(part, dict) else {}
    if kind == "text":
        return str(body.get("body", ""))
    if kind in _MEDIA:
        caption = body.get("caption") or body.get("filename")
        return f"[{kind}] {caption}" if caption else f"[{kind}]"
    reader = _READERS.get(kind)
    return reader(body) if reader else f"[{kind or 'unknown'}]"


def _interactive(body: dict[str, Any]) -> str:
    for reply in ("button_reply", "list_reply"):
        if isinstance(body.get(reply), dict):
            return str(body[reply].get("title", ""))
    text = body.get("body")
    return str(text.get("text", "")) if isinstance(text, dict) else "[interactive]"


def _location(body: dict[str, Any]) -> str:
    where = body.get("name") or body.get("address")
    point = f"{body.get('latitude')},{body.get('longitude')}"
    return f"[location] {where} ({point})" if where else f"[location] {point}"


def _contacts(_body: dict[str, Any]) -> str:
    return "[contacts]"


_READERS = {
    "interactive": _interactive,
    "button": lambda body: str(body.get("text", "")),
    "template": lambda body: f"[template] {body.get('name', '')}",
    "reaction": lambda body: f"[reaction] {body.get('emoji', '')}",
    "location": _location,
    "contacts": _contacts,
}
