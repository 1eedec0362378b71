"""Delivery statuses Meta reports for outbound messages: stored once, applied forward only.

``sent`` < ``delivered`` < ``read``; ``failed`` is final. A late ``delivered`` never
overwrites ``read``. A status that arrives before its message has a wamid (the Graph
answer is still in flight) stays stored and is applied when the wamid is recorded;
the ``biz_opaque_callback_data`` echoed back (``tl:<message id>``) finds the message
even then, which also settles a send of unknown outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.messaging import repository
from threadline.messaging.metrics import DELIVERIES
from threadline.models import WhatsappMessage
from threadline.whatsapp_webhooks import emitters as webhook_events

RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 9}
_TIMESTAMP_COLUMN = {"delivered": "delivered_at", "read": "read_at"}
CALLBACK_PREFIX = "tl:"


@dataclass(frozen=True)
class Status:
    """One status of one wamid, as a webhook reported it."""

    config_id: uuid.UUID
    wamid: str
    status: str
    at: datetime | None
    payload: dict[str, Any]
    callback_data: str | None = None
    #: The config's project; needed by :func:`record`, which stores the status.
    project_id: uuid.UUID | None = None


def rank(status: str) -> int:
    """Position in the progression; statuses before ``sent`` (queued, sending...) are 0."""
    return RANK.get(status, 0)


async def record(session: AsyncSession, status: Status, now: datetime) -> bool:
    """Store ``status`` (once) and apply it if its message is known; False if a duplicate."""
    values = {
        "project_id": status.project_id,
        "whatsapp_config_id": status.config_id,
        "wamid": status.wamid,
        "status": status.status,
        "payload": status.payload,
        "meta_timestamp": status.at,
        "received_at": now,
    }
    if not await repository.add_status_event(session, values):
        return False
    message = await _message_for(session, status)
    if message is not None:
        await _apply(session, message, status, now)
    return True


async def apply_pending(session: AsyncSession, message: WhatsappMessage, now: datetime) -> None:
    """The message got its wamid: apply the statuses that came before it, in order."""
    if message.wamid is None or message.whatsapp_config_id is None:
        return
    events = await repository.unapplied_status_events(
        session, message.whatsapp_config_id, message.wamid
    )
    for event in sorted(events, key=lambda row: rank(row.status)):
        status = Status(
            event.whatsapp_config_id, event.wamid, event.status, event.meta_timestamp, event.payload
        )
        await _apply(session, message, status, now)


async def _message_for(session: AsyncSession, status: Status) -> WhatsappMessage | None:
    message = await repository.lock_by_wamid(session, status.config_id, status.wamid)
    if message is not None or not status.callback_data:
        return message
    message_id = callback_message_id(status.callback_data)
    if message_id is None:
        return None
    return await repository.lock_outbound(session, status.config_id, message_id)


def callback_message_id(data: str) -> int | None:
    """The message id in ``biz_opaque_callback_data`` as Threadline sends it (``tl:<id>``)."""
    suffix = data[len(CALLBACK_PREFIX) :]
    if not data.startswith(CALLBACK_PREFIX) or not suffix.isdigit():
        return None
    return int(suffix)


async def _apply(
    session: AsyncSession, message: WhatsappMessage, status: Status, now: datetime
) -> None:
    await repository.mark_status_applied(
        session, status.config_id, status.wamid, status.status, now
    )
    if message.status == "failed" or rank(status.status) <= rank(message.status):
        await _fill_moment(session, message, status)  # final, or a late arrival
        return
    was = message.status
    values = _values(message, status, now)
    await repository.update_message(session, message.id, values)
    for key, value in values.items():
        setattr(message, key, value)
    await _log(session, message, status, was)
    await webhook_events.status_event(session, message, status.status)


async def _fill_moment(session: AsyncSession, message: WhatsappMessage, status: Status) -> None:
    """A late ``delivered`` still says when it was delivered, if nothing did yet."""
    column = _TIMESTAMP_COLUMN.get(status.status)
    if column is None or getattr(message, column) is not None or message.status == "failed":
        return
    at = status.at or now_or(status, message)
    await repository.update_message(session, message.id, {column: at})
    setattr(message, column, at)


def _values(message: WhatsappMessage, status: Status, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status.status, "updated_at": now, "wamid": status.wamid}
    at = status.at or now
    if message.sent_at is None:
        values["sent_at"] = at
    column = _TIMESTAMP_COLUMN.get(status.status)
    if column:
        values[column] = at
    if status.status == "failed":
        errors = status.payload.get("errors") or [{}]
        values["last_error"] = errors[0] if isinstance(errors, list) and errors else errors
    return values


async def _log(session: AsyncSession, message: WhatsappMessage, status: Status, was: str) -> None:
    """Failures after the send, and settled unknown outcomes, go into the event log."""
    if message.execution_id is None:
        return
    data: dict[str, Any]
    if status.status == "failed":
        kind, data = "message_failed_after_send", {"error": message.last_error}
        DELIVERIES.labels("failed_after_send").inc()
    elif was in ("unknown", "sending"):
        kind, data = "message_settled", {"status": status.status, "was": was}
    else:
        return
    at = now_or(status, message)
    await repository.add_event_for(session, message, kind, {"wamid": status.wamid, **data}, at=at)


def now_or(status: Status, message: WhatsappMessage) -> datetime:
    """When the event happened: Meta's stamp, else the message's last update."""
    return status.at or message.updated_at or message.created_at
