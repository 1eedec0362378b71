"""Status webhooks of accepted sends (``sent``, ``delivered``, ``read``, ``failed``) and the window.

After each accepted send the phone's copy of the message moves forward on timers
(``status_delays_ms``); each step that really moves it is reported to the platform as a
``statuses[]`` webhook shaped like Meta's, with pricing and the legacy conversation.
A free-form send outside the 24-hour window is accepted and then fails with 131047.
"""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial
from typing import Any

from threadline.sandbox.faults import TITLES, GraphFault
from threadline.sandbox.phones import Outbound
from threadline.sandbox.state import OutboxEntry, SandboxState

WINDOW_CLOSED = 131047
_WINDOW_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer "
    "last replied to this number."
)
_ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def check_window(state: SandboxState, wa_id: str, kind: str) -> None:
    """In ``sync`` window mode, refuse a free-form send outside the window with a 400."""
    if state.settings.window_mode == "sync" and _outside_window(state, wa_id, kind, state.now()):
        raise GraphFault(WINDOW_CLOSED, _WINDOW_DETAILS)


def after_send(state: SandboxState, entry: OutboxEntry) -> None:
    """Track an accepted send and schedule its statuses (or its window failure)."""
    outside = _outside_window(state, entry.wa_id, entry.type, entry.received_at)
    outbound = Outbound(entry.id, entry.wa_id, entry.type, entry.payload, entry.received_at)
    outbound.in_thread = not outside
    state.sent[entry.id] = outbound
    if not outside:  # outside the window Meta accepts the send, but the phone never sees it
        state.phone(entry.wa_id).thread.append(outbound)
    steps = _steps(state, entry.type, outside)
    if state.settings.webhook_url is None:
        # Nobody listens: statuses are applied when the thread is looked at, which spares
        # a busy shared sandbox thousands of timers.
        start = time.monotonic()
        outbound.due = [(start + delay / 1000, status) for status, delay in steps]
        return
    for status, delay in steps:
        state.later(delay, partial(_step, state, outbound, status))


def settle(state: SandboxState, outbound: Outbound) -> None:
    """Apply the statuses whose time has come (sends made while no webhook URL was set)."""
    now = time.monotonic()
    while outbound.due and outbound.due[0][0] <= now:
        _step(state, outbound, outbound.due.pop(0)[1])


def _steps(state: SandboxState, kind: str, outside: bool) -> list[tuple[str, int]]:
    delays = state.settings.status_delays_ms
    if outside:
        return [("failed", delays.sent or 0)]
    steps = [("sent", delays.sent), ("delivered", delays.delivered), ("read", delays.read)]
    if kind == "reaction":
        steps = steps[:1]  # Meta reports only "sent" for reactions
    if state.settings.skip_delivered:
        steps = [step for step in steps if step[0] != "delivered"]
    return [(status, delay) for status, delay in steps if delay is not None]


def _step(state: SandboxState, outbound: Outbound, status: str) -> None:
    if status == "failed":
        fail(state, outbound, WINDOW_CLOSED, _WINDOW_DETAILS)
    else:
        advance(state, outbound, status)


def advance(state: SandboxState, outbound: Outbound, status: str) -> str | None:
    """Move a message to ``status`` and report it; the delivery id, if a webhook left."""
    if not outbound.advance(status, state.now()):
        return None
    return _report(state, status_item(state, outbound, status))


def fail(
    state: SandboxState,
    outbound: Outbound,
    code: int,
    details: str | None = None,
    title: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Fail a message with Meta's error ``code`` and report it: the item and delivery id."""
    title = title or TITLES.get(code, "Message failed")
    outbound.errors = [
        {
            "code": code,
            "title": title,
            "message": title,
            "error_data": {"details": details or title},
            "href": _ERROR_HREF,
        }
    ]
    outbound.status = "failed"
    outbound.status_at["failed"] = state.now().isoformat().replace("+00:00", "Z")
    item = status_item(state, outbound, "failed")
    item["errors"] = outbound.errors
    return item, _report(state, item)


def force(
    state: SandboxState,
    outbound: Outbound,
    status: str,
    error: tuple[int, str | None, str | None] = (131000, None, None),
) -> tuple[dict[str, Any], str | None]:
    """Report ``status`` for a message whatever it reached (``POST /_sandbox/status``).

    ``error`` is the (code, details, title) of a ``failed`` status.
    """
    if status == "failed":
        return fail(state, outbound, *error)
    outbound.advance(status, state.now())
    item = status_item(state, outbound, status)
    return item, _report(state, item)


def read_by_phone(state: SandboxState, wa_id: str) -> list[str]:
    """The phone opened its thread: every message it has not read yet becomes ``read``."""
    unread = [
        message
        for message in state.phone(wa_id).thread
        if isinstance(message, Outbound) and message.kind != "reaction"
    ]
    return [m.wamid for m in unread if m.advance("read", state.now()) and _read(state, m)]


def _read(state: SandboxState, outbound: Outbound) -> bool:
    _report(state, status_item(state, outbound, "read"))
    return True


def status_item(state: SandboxState, outbound: Outbound, status: str) -> dict[str, Any]:
    """A ``statuses[]`` item as Meta sends it."""
    now = state.now()
    item: dict[str, Any] = {
        "id": outbound.wamid,
        "status": status,
        "timestamp": str(int(now.timestamp())),
        "recipient_id": outbound.wa_id,
    }
    if outbound.callback_data is not None:
        item["biz_opaque_callback_data"] = outbound.callback_data
    if status != "failed":
        item.update(_pricing(state, outbound, status, now))
    return item


def _pricing(state: SandboxState, outbound: Outbound, status: str, now: datetime) -> dict[str, Any]:
    category = _category(state, outbound)
    in_window = state.phone(outbound.wa_id).window_open(outbound.sent_at, _hours(state))
    free = category == "service" or (category == "utility" and in_window)
    conversation_id, expires = state.phone(outbound.wa_id).conversation(category, now)
    conversation: dict[str, Any] = {"id": conversation_id, "origin": {"type": category}}
    if status == "sent":
        conversation["expiration_timestamp"] = str(int(expires.timestamp()))
    pricing = {
        "billable": not free,
        "pricing_model": "PMP",
        "category": category,
        "type": "free_customer_service" if free else "regular",
    }
    return {"conversation": conversation, "pricing": pricing}


def _category(state: SandboxState, outbound: Outbound) -> str:
    if outbound.kind != "template":
        return "service"
    template = outbound.payload.get("template", {})
    language = str(template.get("language", {}).get("code"))
    found = state.find_template(str(template.get("name")), language)
    return found.spec.category.lower() if found is not None else "utility"


def _outside_window(state: SandboxState, wa_id: str, kind: str, at: datetime) -> bool:
    if kind == "template" or state.settings.window_mode == "off":
        return False
    return not state.phone(wa_id).window_open(at, _hours(state))


def _hours(state: SandboxState) -> float:
    return state.settings.window_hours


def _report(state: SandboxState, item: dict[str, Any]) -> str | None:
    delivery = state.dispatcher.submit("statuses", {"statuses": [item]})
    return delivery.id if delivery is not None else None
