"""The built-in tools' answers, decided without I/O: messages become outbox sends,
waiting becomes a pause, moving becomes a new node.

Bad arguments (an empty message, an unknown node, a media type WhatsApp does not have)
are answered as tool errors the model reads and can correct, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from threadline.engine.agent.graph import END, END_NAMES
from threadline.engine.agent.tools import (
    ASK_USER,
    IDLE,
    METADATA,
    MOVE,
    SEND_MEDIA,
    SEND_NOTIFICATION,
    SEND_TEMPLATE,
    STOP,
    WAIT,
)
from threadline.llm.types import ToolCall
from threadline.whatsapp import payloads

if TYPE_CHECKING:
    from threadline.engine.agent.advance import _Run

#: A template option's ``phone_number`` that is a number, not a placeholder.
_LITERAL_NUMBER = re.compile(r"^\+?\d{6,20}$")


def as_json(value: Any) -> str:
    """A tool result as the model reads it."""
    return json.dumps(value, ensure_ascii=False, default=str)


def run(r: _Run, call: ToolCall) -> None:
    """Answer one built-in tool call (already taken off the pending list)."""
    _HANDLERS[call.name](r, call)


def _recipient(r: _Run) -> str:
    contact = r.state.metadata.get("contact_information") or {}
    return str(contact.get("phone_number") or "")


def _text_arg(call: ToolCall, name: str) -> str:
    value = call.arguments.get(name)
    return value.strip() if isinstance(value, str) else ""


def _notify(r: _Run, call: ToolCall) -> None:
    message = _text_arg(call, "message")
    if not message:
        r.tool_result(call.id, "Error: message is empty", is_error=True)
        return
    if _sent_text(r, call, message):
        r.tool_result(call.id, "Message sent")


def text_payload(r: _Run, text: str) -> dict[str, Any]:
    """The Graph body of a text to the contact; ``ValueError`` if WhatsApp would refuse it."""
    return payloads.text_message(_recipient(r), text)


def _sent_text(r: _Run, call: ToolCall, text: str) -> bool:
    try:
        payload = text_payload(r, text)
    except ValueError as error:
        r.tool_result(call.id, f"Error: {error}", is_error=True)
        return False
    r.send(payload, shown=text)
    return True


def _media(r: _Run, call: ToolCall) -> None:
    args = call.arguments
    kind, caption = str(args.get("media_type") or ""), args.get("caption") or None
    if kind == "audio":
        caption = None  # WhatsApp has no audio captions: dropped, as Kapso does
    try:
        payload = payloads.media_message(
            _recipient(r),
            kind,
            link=str(args.get("media_url") or ""),
            caption=caption,
            filename=(args.get("filename") or None) if kind == "document" else None,
        )
    except ValueError as error:
        r.tool_result(call.id, f"Error: {error}", is_error=True)
        return
    r.send(payload, shown=caption or f"[{kind}]")
    r.tool_result(call.id, "Media sent")


def _ask(r: _Run, call: ToolCall) -> None:
    question = _text_arg(call, "message")
    if not question:
        r.tool_result(call.id, "Error: message is empty: ask a question", is_error=True)
        return
    if _sent_text(r, call, question):
        _wait_for_answer(r, call)


def _idle(r: _Run, call: ToolCall) -> None:
    message = _text_arg(call, "message")
    if not message or _sent_text(r, call, message):
        _wait_for_answer(r, call)


def _wait(r: _Run, call: ToolCall) -> None:
    _wait_for_answer(r, call)


def _wait_for_answer(r: _Run, call: ToolCall) -> None:
    """The user's next message answers ``call``."""
    r.state.waiting_on = call.id
    r.park_for_user()


def _stop(r: _Run, call: ToolCall) -> None:
    reason = _text_arg(call, "reason") or "the agent stopped"
    r.tool_result(call.id, "Stopped")
    r.end(reason)


def _metadata(r: _Run, call: ToolCall) -> None:
    r.tool_result(call.id, r.state.metadata)


def _move(r: _Run, call: ToolCall) -> None:
    options = r.graph.next_nodes(r.state.node, returns_to=r.state.returns_to)
    names = [option.name for option in options]
    target = _text_arg(call, "next_node")
    if not target and len(names) == 1:
        target = names[0]
    if target in END_NAMES and END in names:
        target = END
    if target not in names:
        listed = ", ".join(names) or "none"
        r.tool_result(
            call.id, f"Error: NOT_FOUND: {target!r} is not a next node; use one of: {listed}"
        )
        return
    r.tool_result(call.id, f"Moved to {target}")
    _track_return(r, target)
    r.enter(target, reason=_text_arg(call, "reason") or None)


def _track_return(r: _Run, target: str) -> None:
    """Entering a global node remembers where from; leaving it forgets."""
    here = r.graph.node(r.state.node)
    if r.graph.node(target).is_global and not here.is_global:
        r.state.returns_to = here.name
    elif here.is_global:
        r.state.returns_to = None


def _template(r: _Run, call: ToolCall) -> None:
    node = r.graph.node(r.state.node)
    name = _text_arg(call, "template_name")
    option = next((t for t in node.templates if t.template_name == name), None)
    if option is None:
        known = ", ".join(t.template_name for t in node.templates)
        r.tool_result(call.id, f"Error: no template {name!r} here; use one of: {known}")
        return
    given = call.arguments.get("template_parameters")
    parameters = {**option.parameters, **(given if isinstance(given, dict) else {})}
    # Only the graph's author picks another recipient; the model cannot.
    to = option.phone_number if _LITERAL_NUMBER.match(option.phone_number) else _recipient(r)
    values = {str(k): "" if v is None else str(v) for k, v in parameters.items()}
    try:
        payload = payloads.template_message(to, name, option.language, _positional(values))
    except ValueError as error:
        r.tool_result(call.id, f"Error: {error}", is_error=True)
        return
    r.send(payload, shown=f"[template {name}]")
    if option.wait_for_response:
        _wait_for_answer(r, call)
    else:
        r.tool_result(call.id, f"Sent template: {name}")


def _positional(values: dict[str, str]) -> list[str] | dict[str, str]:
    """``{"1": a, "2": b}`` fills ``{{1}}``, ``{{2}}``; other keys are named parameters."""
    if values and all(key.isdigit() for key in values):
        return [values[key] for key in sorted(values, key=int)]
    return values


_HANDLERS: dict[str, Callable[[_Run, ToolCall], None]] = {
    SEND_NOTIFICATION: _notify,
    SEND_MEDIA: _media,
    ASK_USER: _ask,
    IDLE: _idle,
    WAIT: _wait,
    STOP: _stop,
    METADATA: _metadata,
    MOVE: _move,
    SEND_TEMPLATE: _template,
}
