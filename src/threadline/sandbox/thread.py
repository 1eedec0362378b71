"""A phone's chat as the chat page shows it: texts, buttons and list rows as data, with ticks."""

from __future__ import annotations

import re
from typing import Any

from threadline.sandbox.phones import Inbound, Outbound, Phone
from threadline.sandbox.state import SandboxState
from threadline.sandbox.statuses import settle
from threadline.sandbox.webhooks import iso

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def thread_json(state: SandboxState, phone: Phone | None, wa_id: str) -> dict[str, Any]:
    """``GET /_sandbox/thread``: the phone, its window, and its messages oldest first."""
    hours = state.settings.window_hours
    messages = [] if phone is None else [_message(state, m) for m in phone.thread]
    closes = phone.window_closes_at(hours) if phone is not None else None
    return {
        "phone": wa_id,
        "profile_name": phone.profile_name if phone is not None else None,
        "window_open": phone is not None and phone.window_open(state.now(), hours),
        "window_closes_at": iso(closes),
        "messages": messages,
    }


def _message(state: SandboxState, message: Inbound | Outbound) -> dict[str, Any]:
    if isinstance(message, Inbound):
        return _inbound(state, message)
    return _outbound(state, message)


def _inbound(state: SandboxState, message: Inbound) -> dict[str, Any]:
    raw = message.message
    read = any(receipt["message_id"] == message.wamid for receipt in state.reads)
    return {
        "direction": "inbound",
        "id": message.wamid,
        "type": raw["type"],
        "timestamp": iso(message.received_at),
        # What the user's own ticks show: the business marked it read, or it was delivered.
        "status": "read" if read else "delivered",
        "text": _inbound_text(raw),
        "message": raw,
    }


def _inbound_text(raw: dict[str, Any]) -> str:
    kind = raw["type"]
    content: Any = raw.get(kind, {})
    if kind == "text":
        return str(content["body"])
    if kind == "interactive":
        return str(content[content["type"]]["title"])
    if kind == "button":
        return str(content["text"])
    if kind == "reaction":
        return str(content.get("emoji") or "")
    if isinstance(content, dict) and content.get("caption"):
        return str(content["caption"])
    return f"[{kind}]"


def _outbound(state: SandboxState, message: Outbound) -> dict[str, Any]:
    settle(state, message)
    result: dict[str, Any] = {
        "direction": "outbound",
        "id": message.wamid,
        "type": message.kind,
        "timestamp": iso(message.sent_at),
        "status": message.status,
        "status_at": message.status_at,
        "errors": message.errors,
        "text": _outbound_text(state, message),
        "payload": message.payload,
    }
    if message.kind == "interactive":
        result["interactive"] = _interactive(message.payload.get("interactive", {}))
    if message.kind == "template":
        result["buttons"] = _template_buttons(state, message.payload.get("template", {}))
    return result


def _outbound_text(state: SandboxState, message: Outbound) -> str:
    payload, kind = message.payload, message.kind
    if kind == "text":
        return str(payload["text"]["body"])
    if kind == "interactive":
        return str(payload["interactive"].get("body", {}).get("text", ""))
    if kind == "template":
        return _template_text(state, payload.get("template", {}))
    if kind == "reaction":
        return str(payload["reaction"].get("emoji", ""))
    content = payload.get(kind)
    caption = content.get("caption") if isinstance(content, dict) else None
    return str(caption) if caption else f"[{kind}]"


def _interactive(content: dict[str, Any]) -> dict[str, Any]:
    action = content.get("action", {})
    header = content.get("header") or {}
    result: dict[str, Any] = {
        "type": content.get("type"),
        "header": header.get("text"),
        "body": content.get("body", {}).get("text"),
        "footer": (content.get("footer") or {}).get("text"),
    }
    if content.get("type") == "button":
        result["buttons"] = [
            {"id": b["reply"]["id"], "title": b["reply"]["title"]}
            for b in action.get("buttons", [])
        ]
    if content.get("type") == "list":
        result["button"] = action.get("button")
        result["sections"] = [_section(section) for section in action.get("sections", [])]
    return result


def _section(section: dict[str, Any]) -> dict[str, Any]:
    rows = [
        {"id": row["id"], "title": row["title"], "description": row.get("description")}
        for row in section.get("rows", [])
    ]
    return {"title": section.get("title"), "rows": rows}


def _template_components(state: SandboxState, template: dict[str, Any]) -> list[dict[str, Any]]:
    language = (template.get("language") or {}).get("code")
    found = state.find_template(str(template.get("name")), str(language))
    return found.spec.components if found is not None else []


def _template_text(state: SandboxState, template: dict[str, Any]) -> str:
    body = next(
        (c for c in _template_components(state, template) if str(c.get("type")).upper() == "BODY"),
        None,
    )
    if body is None:
        return f"[template {template.get('name')}]"
    values = _body_parameters(template)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), str(body.get("text", "")))


def _body_parameters(template: dict[str, Any]) -> dict[str, str]:
    for component in template.get("components", []):
        if component.get("type") == "body":
            parameters = component.get("parameters", [])
            return {
                str(p.get("parameter_name") or index): str(p.get("text", ""))
                for index, p in enumerate(parameters, start=1)
            }
    return {}


def _template_buttons(state: SandboxState, template: dict[str, Any]) -> list[dict[str, Any]]:
    """Quick-reply buttons: their text, and the payload the send gave each index."""
    payloads = {
        int(c.get("index", 0)): (c.get("parameters") or [{}])[0].get("payload")
        for c in template.get("components", [])
        if c.get("type") == "button" and c.get("sub_type") == "quick_reply"
    }
    buttons: list[dict[str, Any]] = []
    for component in _template_components(state, template):
        if str(component.get("type")).upper() != "BUTTONS":
            continue
        for index, button in enumerate(component.get("buttons", [])):
            if button.get("type") == "QUICK_REPLY":
                text = button.get("text")
                buttons.append({"text": text, "payload": payloads.get(index) or text})
    return buttons
