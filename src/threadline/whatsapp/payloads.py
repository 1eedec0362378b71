"""Builders for the JSON bodies of ``POST /{phone_number_id}/messages``.

Each builder returns a plain ``dict`` ready to hand to
:meth:`threadline.whatsapp.client.WhatsAppClient.send_message`. Builders check the limits
Meta documents and raise :class:`ValueError` (pydantic's ``ValidationError`` included)
instead of letting an avoidable 400 reach the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadline.whatsapp import limits


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplyButton(_Wire):
    """One quick-reply button of an interactive ``button`` message."""

    id: str = Field(min_length=1, max_length=limits.BUTTON_ID_MAX)
    title: str = Field(min_length=1, max_length=limits.BUTTON_TITLE_MAX)


class ListRow(_Wire):
    """One selectable row of an interactive ``list`` message."""

    id: str = Field(min_length=1, max_length=limits.LIST_ROW_ID_MAX)
    title: str = Field(min_length=1, max_length=limits.LIST_ROW_TITLE_MAX)
    description: str | None = Field(default=None, max_length=limits.LIST_ROW_DESCRIPTION_MAX)


class ListSection(_Wire):
    """A titled group of rows in an interactive ``list`` message."""

    title: str | None = Field(default=None, min_length=1, max_length=limits.LIST_SECTION_TITLE_MAX)
    rows: list[ListRow] = Field(min_length=1)


class SendResult(BaseModel):
    """What the Graph API returns for an accepted send."""

    model_config = ConfigDict(frozen=True)

    message_id: str = Field(min_length=1)
    wa_id: str | None = None
    input: str | None = None
    message_status: str | None = None

    @classmethod
    def from_graph(cls, body: Any) -> SendResult:
        """Parse a success body; raises :class:`ValueError` if it has no message id."""
        try:
            message = body["messages"][0]
            contacts = body.get("contacts") or [{}]
            return cls(
                message_id=message["id"],
                wa_id=contacts[0].get("wa_id"),
                input=contacts[0].get("input"),
                message_status=message.get("message_status"),
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValidationError) as exc:
            raise ValueError(f"not a Graph send response: {body!r:.200}") from exc


def text_message(to: str, body: str, *, preview_url: bool = False) -> dict[str, Any]:
    """A plain text message; ``preview_url`` renders a preview of the first link."""
    _check_text("text.body", body, limits.TEXT_BODY_MAX)
    return _envelope(to, "text", {"preview_url": preview_url, "body": body})


def button_message(
    to: str,
    body_text: str,
    buttons: Sequence[tuple[str, str]],
    *,
    header_text: str | None = None,
    footer_text: str | None = None,
) -> dict[str, Any]:
    """An interactive message with 1-3 quick-reply buttons given as ``(id, title)`` pairs."""
    parsed = [ReplyButton(id=button_id, title=title) for button_id, title in buttons]
    _check_count("buttons", len(parsed), limits.BUTTONS_MIN, limits.BUTTONS_MAX)
    _check_unique("button id", [button.id for button in parsed])
    _check_unique("button title", [button.title for button in parsed])
    action = {"buttons": [{"type": "reply", "reply": b.model_dump()} for b in parsed]}
    interactive = _interactive("button", body_text, action, header_text, footer_text)
    return _envelope(to, "interactive", interactive)


def list_message(
    to: str,
    body_text: str,
    button_text: str,
    sections: Sequence[ListSection | Mapping[str, Any]],
    *,
    header_text: str | None = None,
    footer_text: str | None = None,
) -> dict[str, Any]:
    """An interactive list: a button that opens up to 10 rows spread over up to 10 sections."""
    _check_text("action.button", button_text, limits.LIST_BUTTON_TEXT_MAX)
    parsed = [ListSection.model_validate(section) for section in sections]
    _check_sections(parsed)
    action = {
        "button": button_text,
        "sections": [section.model_dump(exclude_none=True) for section in parsed],
    }
    interactive = _interactive("list", body_text, action, header_text, footer_text)
    return _envelope(to, "interactive", interactive)


def template_message(
    to: str,
    name: str,
    language: str,
    parameters: Sequence[str] | Mapping[str, str] | None = None,
    *,
    components: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A template message.

    ``parameters`` fills the body: a sequence for positional ``{{1}}`` placeholders, a
    mapping for named ones. Pass ``components`` instead for headers, buttons or
    non-text parameters; it is sent as given.
    """
    if parameters and components is not None:
        raise ValueError("pass either parameters or components, not both")
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components is not None:
        template["components"] = [dict(component) for component in components]
    elif parameters:
        template["components"] = [{"type": "body", "parameters": _body_parameters(parameters)}]
    return _envelope(to, "template", template)


def template_components(
    header: Mapping[str, str] | None, body: Sequence[str] | Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """Header and body components of text parameters (for a header with placeholders)."""
    components: list[dict[str, Any]] = []
    if header:
        components.append({"type": "header", "parameters": _body_parameters(header)})
    if body:
        components.append({"type": "body", "parameters": _body_parameters(body)})
    return components


MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_CAPTIONED = ("image", "video", "document")


def media_message(
    to: str,
    kind: str,
    *,
    link: str | None = None,
    media_id: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
) -> dict[str, Any]:
    """An image, video, audio, document or sticker, by public ``link`` or uploaded ``media_id``."""
    if kind not in MEDIA_KINDS:
        raise ValueError(f"{kind!r} is not a media type; use one of {', '.join(MEDIA_KINDS)}")
    if (link is None) == (media_id is None):
        raise ValueError(f"a {kind} message needs either a media link or a media id, not both")
    if link is not None and not link.startswith(("https://", "http://")):
        raise ValueError("the media link must be an http(s) URL")
    media: dict[str, Any] = {"link": link} if link is not None else {"id": media_id}
    if caption is not None:
        if kind not in _CAPTIONED:
            raise ValueError(f"a {kind} message has no caption")
        _check_text("caption", caption, limits.MEDIA_CAPTION_MAX)
        media["caption"] = caption
    if filename is not None:
        if kind != "document":
            raise ValueError("only a document has a filename")
        media["filename"] = filename
    return _envelope(to, kind, media)


def location_message(
    to: str,
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """A pin on the map."""
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise ValueError("latitude must be within ±90 and longitude within ±180")
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        location["name"] = name
    if address:
        location["address"] = address
    return _envelope(to, "location", location)


def reaction_message(to: str, message_id: str, emoji: str) -> dict[str, Any]:
    """An emoji reaction to the message ``message_id`` (a wamid); ``""`` removes it."""
    if not message_id.strip():
        raise ValueError("a reaction needs the wamid of the message it reacts to")
    return _envelope(to, "reaction", {"message_id": message_id, "emoji": emoji})


def contacts_message(to: str, contacts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One to 257 contact cards, each with a name (``formatted_name`` or ``first_name``)."""
    _check_count("contacts", len(contacts), 1, limits.CONTACTS_MAX)
    cards = [dict(card) for card in contacts]
    for card in cards:
        name = card.get("name")
        if not isinstance(name, Mapping) or not (
            name.get("formatted_name") or name.get("first_name")
        ):
            raise ValueError("every contact needs a name with formatted_name or first_name")
        card["name"] = {"formatted_name": name.get("formatted_name") or name["first_name"], **name}
    message = _envelope(to, "contacts", {})
    message["contacts"] = cards
    return message


def read_receipt(message_id: str, *, typing_indicator: bool = False) -> dict[str, Any]:
    """Mark an inbound message as read, optionally showing a typing indicator."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    }
    if typing_indicator:
        payload["typing_indicator"] = {"type": "text"}
    return payload


def _envelope(to: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    if not to.strip():
        raise ValueError("to must not be empty")
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


def _interactive(
    kind: str,
    body_text: str,
    action: dict[str, Any],
    header_text: str | None,
    footer_text: str | None,
) -> dict[str, Any]:
    _check_text("body.text", body_text, limits.INTERACTIVE_BODY_MAX)
    interactive: dict[str, Any] = {"type": kind}
    if header_text is not None:
        _check_text("header.text", header_text, limits.INTERACTIVE_HEADER_MAX)
        interactive["header"] = {"type": "text", "text": header_text}
    interactive["body"] = {"text": body_text}
    if footer_text is not None:
        _check_text("footer.text", footer_text, limits.INTERACTIVE_FOOTER_MAX)
        interactive["footer"] = {"text": footer_text}
    interactive["action"] = action
    return interactive


def _check_sections(sections: list[ListSection]) -> None:
    _check_count("sections", len(sections), 1, limits.LIST_SECTIONS_MAX)
    rows = [row for section in sections for row in section.rows]
    _check_count("rows across all sections", len(rows), 1, limits.LIST_ROWS_MAX)
    _check_unique("row id", [row.id for row in rows])
    if len(sections) > 1 and any(section.title is None for section in sections):
        raise ValueError("every section needs a title when there is more than one")


def _body_parameters(parameters: Sequence[str] | Mapping[str, str]) -> list[dict[str, Any]]:
    values = parameters.values() if isinstance(parameters, Mapping) else parameters
    for value in values if not isinstance(values, str) else []:
        _check_text("template parameter", value, limits.TEMPLATE_TEXT_PARAM_MAX)
    if isinstance(parameters, Mapping):
        return [
            {"type": "text", "parameter_name": key, "text": value}
            for key, value in parameters.items()
        ]
    if isinstance(parameters, str):
        raise ValueError("parameters must be a sequence of strings, not a single string")
    return [{"type": "text", "text": value} for value in parameters]


def _check_text(field: str, value: str, maximum: int) -> None:
    if not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > maximum:
        raise ValueError(f"{field} is {len(value)} characters; the limit is {maximum}")


def _check_count(field: str, count: int, minimum: int, maximum: int) -> None:
    if not minimum <= count <= maximum:
        raise ValueError(f"{count} {field}; between {minimum} and {maximum} are allowed")


def _check_unique(field: str, values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"each {field} must be unique")
