"""The proxy's rules: a number of the caller's project, Graph sends into the outbox, and
reads of history, conversations, contacts and calls through the existing services.

A send answers ``messages[0].id`` = Threadline's stable message id (the v1 API's
UUID): Meta's wamid exists only once the outbox has delivered, and every read of the
proxy (history, statuses in webhooks) names the message by that same id; the wamid
is in ``kapso.whatsapp_message_id``. Any message id the proxy takes may be either.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.calls import service as calls
from threadline.calls.repository import CallFilters, CallRow
from threadline.contacts import service as contacts
from threadline.contacts.repository import ContactFilters
from threadline.contacts.schemas import ContactUpdateFields
from threadline.conversations import service as conversations
from threadline.conversations.repository import ConversationFilters
from threadline.meta_proxy import presenters, repository
from threadline.meta_proxy.errors import InvalidParameter, ReEngagement, UnknownObject
from threadline.meta_proxy.paging import Cursor
from threadline.meta_proxy.repository import HistoryFilters
from threadline.models import Project, WhatsappConfig, WhatsappMessage
from threadline.whatsapp.phones import e164, wa_id_of
from threadline.whatsapp_configs.service import find_by_id, find_by_phone_number_id
from threadline.whatsapp_messages import service as messages
from threadline.whatsapp_messages.schemas import MessageType, public_id, row_id

log = logging.getLogger("threadline.meta_proxy")
#: The message types a Graph send may carry: the v1 messages API's.
SEND_TYPES = frozenset(get_args(MessageType))
Record = dict[str, Any]


def unknown(object_id: str) -> UnknownObject:
    """Graph's answer for an object the key cannot see (another project's number too)."""
    return UnknownObject(
        f"Unsupported request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation"
    )


async def config_for(
    session: AsyncSession, project_id: uuid.UUID, phone_number_id: str
) -> WhatsappConfig:
    """The project's config of ``phone_number_id`` (its default first, if several)."""
    found = [
        config
        for config in await find_by_phone_number_id(session, phone_number_id)
        if config.project_id == project_id
    ]
    if not found:
        raise unknown(phone_number_id)
    return sorted(found, key=lambda config: not config.is_default)[0]


@dataclass(frozen=True)
class Sender:
    """Who sends: the project, on which number, opening conversations after ``inactivity``."""

    project: Project
    config: WhatsappConfig
    inactivity: timedelta


async def send(session: AsyncSession, sender: Sender, body: Record, now: datetime) -> Record:
    """A Graph send body queued in the outbox (or a read receipt): Graph's answer."""
    if body.get("status") == "read":
        return await mark_read(session, sender, body, now)
    to, kind = _check_send(body)
    payload = {key: value for key, value in body.items() if key != "to"}
    payload["type"] = kind
    await _meta_ids(session, sender, payload, kind)
    target = messages.SendTarget(to, sender.config.id, None, sender.inactivity)
    try:
        row = await messages.send_payload_to_phone(session, sender.project, target, payload, now)
    except messages.OutsideServiceWindow as error:
        raise ReEngagement(error.message) from None
    except messages.BadMessage as error:
        raise InvalidParameter(error.message) from None
    sent: Record = {"id": public_id(row.id)}
    log.info("proxy send queued", extra={"message_id": row.id, "message_type": kind})
    if kind == "template":
        sent["message_status"] = "accepted"
    contact = {"input": to, "wa_id": wa_id_of(row.phone_number)}
    return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [sent]}


def _check_send(body: Record) -> tuple[str, str]:
    """``to`` and ``type`` of a send body; every problem at once, as one invalid parameter."""
    problems: list[str] = []
    if body.get("messaging_product") != "whatsapp":
        problems.append("messaging_product must be 'whatsapp'")
    to = body.get("to")
    if not isinstance(to, str) or not to.strip():
        problems.append("to is required: the recipient's phone number")
    if "status" in body:
        problems.append("status may only be 'read' (a read receipt, with message_id)")
    kind = body.get("type", "text")
    if kind not in SEND_TYPES:
        problems.append(f"type must be one of {sorted(SEND_TYPES)}")
    elif not isinstance(body.get(kind), dict | list):
        problems.append(f"the '{kind}' object is required for a {kind} message")
    elif kind == "text" and not str(body[kind].get("body") or "").strip():
        problems.append("text.body is required")
    if isinstance(to, str) and to.strip() and not problems:
        try:
            wa_id_of(to)
        except ValueError as error:
            problems.append(f"to: {error}")
    if problems:
        raise InvalidParameter("; ".join(problems))
    return str(to), str(kind)


async def _meta_ids(session: AsyncSession, sender: Sender, payload: Record, kind: str) -> None:
    """A reaction or a reply may name our message id: Meta needs the message's wamid."""
    for holder in (payload.get("context"), payload.get(kind) if kind == "reaction" else None):
        if isinstance(holder, dict) and isinstance(holder.get("message_id"), str):
            holder["message_id"] = await _wamid(session, sender, holder["message_id"])


async def _wamid(session: AsyncSession, sender: Sender, message_id: str) -> str:
    if row_id(message_id) is None:
        return message_id
    found = await message_row(session, sender.project, sender.config, message_id)
    if found.wamid is None:
        raise InvalidParameter(f"message {message_id} has not reached WhatsApp yet (no wamid)")
    return found.wamid


async def mark_read(session: AsyncSession, sender: Sender, body: Record, now: datetime) -> Record:
    """``{"status": "read", "message_id"}``: the inbound message read, its receipt queued."""
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise InvalidParameter("message_id is required to mark a message as read")
    row = await message_row(session, sender.project, sender.config, message_id)
    typing = isinstance(body.get("typing_indicator"), dict)
    try:
        await messages.mark_as_read(
            session, sender.project, public_id(row.id), typing_indicator=typing, now=now
        )
    except messages.NotInbound as error:
        raise InvalidParameter(error.message) from None
    return {"success": True}


async def message_row(
    session: AsyncSession, project: Project, config: WhatsappConfig, message_id: str
) -> WhatsappMessage:
    """The number's message named by our id or by Meta's wamid."""
    found: WhatsappMessage | None
    if row_id(message_id) is not None:
        found = await messages.get(session, project, message_id)
        found = found if found.whatsapp_config_id == config.id else None
    else:
        found = await repository.by_wamid(session, project.id, config.id, message_id)
    if found is None:
        raise unknown(message_id)
    return found


async def history(
    session: AsyncSession,
    project: Project,
    config: WhatsappConfig,
    filters: HistoryFilters,
    cursor: Cursor,
) -> list[Record]:
    """A page (plus one) of the number's messages, newest first."""
    window = cursor.window()
    rows = await repository.history(
        session, project.id, config.id, filters, offset=window.offset, limit=window.per_page
    )
    return [presenters.message(row, name) for row, name in rows]


async def message(
    session: AsyncSession, project: Project, config: WhatsappConfig, message_id: str
) -> Record:
    """One message of the number."""
    row = await message_row(session, project, config, message_id)
    contact_name = None
    if row.conversation_id is not None:
        _conversation, contact = await conversations.get(session, project, row.conversation_id)
        contact_name = contact.profile_name
    return presenters.message(row, contact_name)


async def conversation_list(
    session: AsyncSession,
    project: Project,
    config: WhatsappConfig,
    filters: ConversationFilters,
    cursor: Cursor,
) -> list[Record]:
    """A page (plus one) of the number's conversations, most recently active first."""
    scoped = replace(filters, whatsapp_config_id=config.id)
    rows, _total = await conversations.list_for(session, project, scoped, cursor.window())
    ids = [row.id for row, _contact in rows]
    tallies = await repository.conversation_tallies(session, project.id, ids)
    return [
        presenters.conversation(row, contact, config, tallies.get(row.id)) for row, contact in rows
    ]


def e164_or_invalid(phone: str | None) -> str | None:
    """A ``phone_number`` filter as the conversations store it; a bad one is invalid."""
    try:
        return None if phone is None else e164(phone)
    except ValueError as error:
        raise InvalidParameter(f"phone_number: {error}") from None


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise unknown(value) from None


async def conversation(
    session: AsyncSession, project: Project, conversation_id: str, config: WhatsappConfig | None
) -> Record:
    """One conversation of the project (of ``config``'s number, when one is named)."""
    row, contact = await conversations.get(session, project, _uuid(conversation_id))
    if config is not None and row.whatsapp_config_id != config.id:
        raise unknown(conversation_id)
    own = config or await find_by_id(session, row.whatsapp_config_id)
    if own is None:
        raise unknown(conversation_id)
    tallies = await repository.conversation_tallies(session, project.id, [row.id])
    return presenters.conversation(row, contact, own, tallies.get(row.id))


async def set_conversation_status(
    session: AsyncSession,
    project: Project,
    conversation_id: str,
    status: str,
    *,
    now: datetime,
    inactivity: timedelta,
) -> Record:
    """End (``ended``) or reopen (``active``) a conversation: Graph's ``{"success": true}``."""
    await conversations.set_status(
        session, project, _uuid(conversation_id), status, now=now, inactivity=inactivity
    )
    return {"success": True}


async def contact_list(
    session: AsyncSession,
    project: Project,
    filters: ContactFilters,
    wa_id: str | None,
    cursor: Cursor,
) -> list[Record]:
    """A page (plus one) of the project's contacts (``wa_id``: that one contact, if any)."""
    if wa_id is not None:
        if cursor.start > 0:
            return []
        try:
            return [presenters.contact(await contacts.get(session, project, wa_id))]
        except contacts.ContactNotFound:
            return []
    rows, _total = await contacts.list_contacts(session, project, filters, cursor.window())
    return [presenters.contact(row) for row in rows]


async def contact(session: AsyncSession, project: Project, wa_id: str) -> Record:
    """One contact by its WhatsApp id."""
    return presenters.contact(await contacts.get(session, project, wa_id))


async def update_contact(
    session: AsyncSession, project: Project, wa_id: str, fields: ContactUpdateFields, now: datetime
) -> Record:
    """Rename a contact or replace its metadata: Graph's ``{"success": true}``."""
    await contacts.update(session, project, wa_id, fields, now)
    return {"success": True}


async def call_list(
    session: AsyncSession,
    project: Project,
    config: WhatsappConfig,
    filters: CallFilters,
    cursor: Cursor,
) -> list[Record]:
    """A page (plus one) of the number's calls, newest first."""
    scoped = replace(filters, whatsapp_config_id=config.id)
    rows, _total = await calls.list_calls(session, project, scoped, cursor.window())
    return [presenters.call(row) for row in rows]


async def call(session: AsyncSession, project: Project, call_id: str) -> Record:
    """One call by Threadline's id or by Meta's call id."""
    row: CallRow | None
    try:
        row = await calls.get_call(session, project, uuid.UUID(call_id))
    except ValueError:
        found, _total = await calls.list_calls(
            session, project, CallFilters(call_id=call_id), Cursor(0, 1).window()
        )
        row = found[0] if found else None
    except calls.CallNotFound:
        row = None
    if row is None:
        raise unknown(call_id)
    return presenters.call(row)
