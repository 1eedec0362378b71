"""Validation of ``type: "interactive"`` messages (reply buttons, lists, CTA URLs...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from threadline.sandbox import checks
from threadline.sandbox.faults import invalid_parameter
from threadline.whatsapp import limits

_MEDIA_HEADERS = frozenset({"image", "video", "document"})
_ANY_HEADER = frozenset({"text"}) | _MEDIA_HEADERS


def validate_interactive(payload: Mapping[str, Any]) -> None:
    """Check ``payload["interactive"]`` like Meta does; raises ``GraphFault``."""
    content = checks.obj(payload, "interactive", "interactive")
    kind = checks.one_of(content, "type", frozenset(_KINDS), "interactive.type")
    _KINDS[kind](content)


def validate_media_object(media: Mapping[str, Any], where: str, kind: str) -> None:
    """A media object (message or header) carries exactly one of ``id`` or ``link``."""
    if ("id" in media) == ("link" in media):
        raise invalid_parameter(f"Param {where} needs exactly one of id or link")
    if "id" in media:
        checks.required_str(media, "id", f"{where}.id", 256)
    else:
        checks.url(media, "link", f"{where}.link")
    if kind in {"image", "video", "document"}:
        checks.optional_str(media, "caption", f"{where}.caption", limits.MEDIA_CAPTION_MAX)
    if kind == "document":
        checks.optional_str(media, "filename", f"{where}.filename", 240)


def _buttons(content: Mapping[str, Any]) -> None:
    _frame(content, _ANY_HEADER)
    action = checks.obj(content, "action", "interactive.action")
    buttons = checks.array(action, "buttons", "interactive.action.buttons")
    checks.count(buttons, limits.BUTTONS_MIN, limits.BUTTONS_MAX, "interactive.action.buttons")
    replies = [
        _reply(button, f"interactive.action.buttons[{i}]") for i, button in enumerate(buttons)
    ]
    checks.unique([reply_id for reply_id, _ in replies], "Button ids")
    checks.unique([title for _, title in replies], "Button titles")


def _reply(button: Any, where: str) -> tuple[str, str]:
    button = checks.as_obj(button, where)
    checks.one_of(button, "type", frozenset({"reply"}), f"{where}.type")
    reply = checks.obj(button, "reply", f"{where}.reply")
    reply_id = checks.required_str(reply, "id", f"{where}.reply.id", limits.BUTTON_ID_MAX)
    title = checks.required_str(reply, "title", f"{where}.reply.title", limits.BUTTON_TITLE_MAX)
    return reply_id, title


def _list(content: Mapping[str, Any]) -> None:
    _frame(content, frozenset({"text"}))
    action = checks.obj(content, "action", "interactive.action")
    checks.required_str(action, "button", "interactive.action.button", limits.LIST_BUTTON_TEXT_MAX)
    sections = checks.array(action, "sections", "interactive.action.sections")
    checks.count(sections, 1, limits.LIST_SECTIONS_MAX, "interactive.action.sections")
    titled = len(sections) > 1
    row_ids = [
        row_id
        for i, section in enumerate(sections)
        for row_id in _section(section, f"interactive.action.sections[{i}]", titled)
    ]
    checks.count(row_ids, 1, limits.LIST_ROWS_MAX, "rows (all sections combined)")
    checks.unique(row_ids, "Row ids")


def _section(section: Any, where: str, titled: bool) -> list[str]:
    section = checks.as_obj(section, where)
    if titled or "title" in section:
        checks.required_str(section, "title", f"{where}.title", limits.LIST_SECTION_TITLE_MAX)
    rows = checks.array(section, "rows", f"{where}.rows")
    return [_row(row, f"{where}.rows[{i}]") for i, row in enumerate(rows)]


def _row(row: Any, where: str) -> str:
    row = checks.as_obj(row, where)
    row_id = checks.required_str(row, "id", f"{where}.id", limits.LIST_ROW_ID_MAX)
    checks.required_str(row, "title", f"{where}.title", limits.LIST_ROW_TITLE_MAX)
    checks.optional_str(row, "description", f"{where}.description", limits.LIST_ROW_DESCRIPTION_MAX)
    return row_id


def _cta_url(content: Mapping[str, Any]) -> None:
    _frame(content, _ANY_HEADER)
    action = checks.obj(content, "action", "interactive.action")
    checks.one_of(action, "name", frozenset({"cta_url"}), "interactive.action.name")
    parameters = checks.obj(action, "parameters", "interactive.action.parameters")
    checks.required_str(
        parameters,
        "display_text",
        "interactive.action.parameters.display_text",
        limits.CTA_DISPLAY_TEXT_MAX,
    )
    checks.url(parameters, "url", "interactive.action.parameters.url")


def _action_only(content: Mapping[str, Any]) -> None:
    # Flows and commerce messages are accepted on shape alone; their limits are not emulated.
    checks.obj(content, "action", "interactive.action")


def _frame(content: Mapping[str, Any], headers: frozenset[str]) -> None:
    """Header (optional), body (required) and footer (optional)."""
    if content.get("header") is not None:
        header = checks.obj(content, "header", "interactive.header")
        kind = checks.one_of(header, "type", headers, "interactive.header.type")
        if kind == "text":
            checks.required_str(
                header, "text", "interactive.header.text", limits.INTERACTIVE_HEADER_MAX
            )
        else:
            media = checks.obj(header, kind, f"interactive.header.{kind}")
            validate_media_object(media, f"interactive.header.{kind}", kind)
    body = checks.obj(content, "body", "interactive.body")
    checks.required_str(body, "text", "interactive.body.text", limits.INTERACTIVE_BODY_MAX)
    if content.get("footer") is not None:
        footer = checks.obj(content, "footer", "interactive.footer")
        checks.required_str(
            footer, "text", "interactive.footer.text", limits.INTERACTIVE_FOOTER_MAX
        )


_KINDS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "button": _buttons,
    "list": _list,
    "cta_url": _cta_url,
    "flow": _action_only,
    "location_request_message": _action_only,
    "product": _action_only,
    "product_list": _action_only,
    "catalog_message": _action_only,
}
