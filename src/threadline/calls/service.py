"""WhatsApp calls and call permissions: recorded from Meta's webhooks, read by the API.

A call arrives as events (``connect``, ``terminate``) that Meta may deliver late, twice
or out of order: the call's row is keyed by the number and Meta's ``wacid``, an end is
never undone by a late ``connect``, and a repeated event changes nothing. A call
permission is the contact's latest answer (``call_permission_reply``), an older answer
delivered late does not replace a newer one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.calls import repository
from threadline.calls.repository import CallFilters, CallRow, PermissionRow
from threadline.contacts import service as contacts
from threadline.conversations import repository as conversation_rows
from threadline.errors import NotFound, Unprocessable
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappCall, WhatsappConfig

ENDED = ("completed", "failed")


class CallNotFound(NotFound):
    """The project has no call with that id."""

    error = "Call not found"


class CallPermissionNotFound(NotFound):
    """The contact gave that number no call permission."""

    error = "Call permission not found"


@dataclass(frozen=True)
class CallEvent:
    """One ``calls[]`` item of a webhook, as the recorder needs it."""

    call_id: str
    event: str
    user_initiated: bool
    user_wa_id: str
    at: datetime | None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None


async def record_event(
    session: AsyncSession,
    config: WhatsappConfig,
    event: CallEvent,
    profile_name: str | None,
    now: datetime,
) -> WhatsappCall:
    """Apply one call event to its call (made on the first event Meta sends of it)."""
    contact = await contacts.for_inbound(
        session, config.project_id, event.user_wa_id, profile_name, now
    )
    conversation = await conversation_rows.active(session, config.id, contact.id)
    call = await repository.lock_call(
        session,
        {
            "id": uuid.uuid4(),
            "project_id": config.project_id,
            "whatsapp_config_id": config.id,
            "call_id": event.call_id,
            "direction": "inbound" if event.user_initiated else "outbound",
            "status": "ringing",
            "user_wa_id": event.user_wa_id,
            "whatsapp_contact_id": contact.id,
            "whatsapp_conversation_id": None if conversation is None else conversation.id,
            "created_at": now,
            "updated_at": now,
        },
    )
    _apply(call, event, now)  # on a new call as on a known one: an event says the same
    return call


def _apply(call: WhatsappCall, event: CallEvent, now: datetime) -> None:
    """What one event says about the call; an ended call stays ended."""
    if event.event == "connect":
        call.session_started_at = call.session_started_at or event.at
        if call.status not in ENDED:
            call.status = "ringing" if event.user_initiated else "connected"
    elif event.event == "terminate":
        ended = (event.status or "completed").lower()
        call.status = ended if ended in ENDED else "failed"
        call.started_at = event.start_time or call.started_at
        call.ended_at = event.end_time or event.at or call.ended_at
        call.duration_seconds = event.duration if event.duration is not None else None
    call.updated_at = now


async def record_permission_reply(
    session: AsyncSession,
    config: WhatsappConfig,
    wa_id: str,
    reply: dict[str, Any],
    message: tuple[str, datetime | None],
    now: datetime,
) -> None:
    """The contact answered a call permission request (``message``: its wamid and time)."""
    contact = await contacts.for_inbound(session, config.project_id, wa_id, None, now)
    wamid, at = message
    permission = await repository.lock_permission(
        session,
        {
            "id": uuid.uuid4(),
            "project_id": config.project_id,
            "whatsapp_contact_id": contact.id,
            "whatsapp_config_id": config.id,
            "status": "rejected",
            "created_at": now,
            "updated_at": now,
        },
    )
    if permission.last_event_at is not None and at is not None and at < permission.last_event_at:
        return  # an older answer, delivered late
    accepted = reply.get("response") == "accept"
    permission.status = "accepted" if accepted else "rejected"
    permission.source = str(reply.get("response_source") or "user_action")[:20]
    permission.expires_at = _moment(reply.get("expiration_timestamp")) if accepted else None
    permission.last_event_message_id, permission.last_event_at = wamid, at or now
    permission.updated_at = now


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def period_bounds(
    period: str | None, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``today``, ``week`` (the last 7 days), ``month`` (the last 30) or ``custom``."""
    if period is None:
        return None, None
    if period == "custom":
        if start is None and end is None:
            raise Unprocessable("period=custom needs start_date, end_date or both")
        return start, end
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = {"today": 0, "week": 6, "month": 29}[period]
    return midnight - timedelta(days=days), None


async def list_calls(
    session: AsyncSession, project: Project, filters: CallFilters, params: PageParams
) -> tuple[list[CallRow], int]:
    """The project's calls, newest first."""
    return await repository.page_calls(session, project.id, filters, params)


async def get_call(session: AsyncSession, project: Project, call_id: uuid.UUID) -> CallRow:
    """One call of the project; :class:`CallNotFound` for any other."""
    found = await repository.get_call(session, project.id, call_id)
    if found is None:
        raise CallNotFound()
    return found


async def permissions(
    session: AsyncSession, project: Project, identifier: str
) -> Sequence[PermissionRow]:
    """The call permissions of the contact named by id or phone number."""
    contact = await contacts.get(session, project, identifier)
    return await repository.permissions_of(session, contact.id)


async def permission(
    session: AsyncSession, project: Project, identifier: str, config_id: uuid.UUID
) -> PermissionRow:
    """The contact's call permission for one number."""
    contact = await contacts.get(session, project, identifier)
    found = await repository.permissions_of(session, contact.id, config_id)
    if not found:
        raise CallPermissionNotFound()
    return found[0]
