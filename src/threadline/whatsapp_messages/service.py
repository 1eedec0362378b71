"""The messages API's rules: history, sends through the outbox, read receipts, deletion."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.contacts import service as contacts
from threadline.conversations import service as conversations
from threadline.errors import BadRequest, NotFound, Unprocessable
from threadline.jobs.queue import enqueue
from threadline.kit.crypto import Cipher
from threadline.kit.schemas import PageParams
from threadline.messaging.outcomes import DeliveryTarget
from threadline.messaging.outcomes import target as delivery_target
from threadline.messaging.service import queue_outbound, queue_outbound_many
from threadline.models import Project, WhatsappConfig, WhatsappConversation, WhatsappMessage
from threadline.whatsapp.content import describe
from threadline.whatsapp.phones import wa_id_of
from threadline.whatsapp_configs.service import UnknownWhatsappConfig
from threadline.whatsapp_configs.service import resolve as resolve_config
from threadline.whatsapp_messages import repository
from threadline.whatsapp_messages.compose import compose
from threadline.whatsapp_messages.repository import MessageFilters
from threadline.whatsapp_messages.schemas import MessageIn, row_id
from threadline.whatsapp_messages.type_data import MEDIA_TYPES, type_data

SERVICE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SendTarget:
    """Where ``POST /whatsapp_messages`` sends: a number, on a config or a customer's."""

    phone_number: str | None
    whatsapp_config_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    inactivity: timedelta


class MessageNotFound(NotFound):
    """The WhatsApp message does not exist in this project."""

    error = "WhatsApp message not found"


async def list_for_conversation(
    session: AsyncSession,
    project: Project,
    conversation_id: uuid.UUID,
    filters: MessageFilters,
    page: PageParams,
) -> tuple[list[WhatsappMessage], int]:
    """A page of a conversation's messages, both directions, newest first."""
    await conversations.get(session, project, conversation_id)
    return await repository.list_for_conversation(
        session, conversation_id, filters, offset=page.offset, limit=page.per_page
    )


async def get(
    session: AsyncSession, project: Project, message_id: str, *, for_update: bool = False
) -> WhatsappMessage:
    """A message of the project by its API id (another project's is a 404)."""
    key = row_id(message_id)
    message = (
        None
        if key is None
        else await repository.get(session, project.id, key, for_update=for_update)
    )
    if message is None:
        raise MessageNotFound()
    return message


class ConversationEnded(Unprocessable):
    """The conversation has ended: send with POST /whatsapp_messages to open a new one."""


class OutsideServiceWindow(Unprocessable):
    """Only a template message can be sent outside the 24-hour customer-service window."""

    error = "Outside the 24-hour window"


class BadMessage(Unprocessable):
    """The message cannot be sent as given."""

    error = "Invalid message"


def check_window(
    message_type: str, last_inbound: datetime | None, now: datetime, phone: str
) -> None:
    """Refuse a free-form message to a contact who has not written in the last 24 hours.

    Meta only delivers templates outside the customer-service window. Checked for sends
    through the API only: a flow's free-form send outside it is queued, and Meta's
    asynchronous ``failed`` status (131047) is recorded on the message by the status
    pipeline, failing the execution visibly.
    """
    if message_type == "template":
        return
    if last_inbound is None:
        raise OutsideServiceWindow(
            f"{phone} has never written to this number, so the 24-hour customer-service "
            "window never opened: only a template message can be sent"
        )
    closed = last_inbound + SERVICE_WINDOW
    if closed <= now:
        raise OutsideServiceWindow(
            f"the 24-hour customer-service window with {phone} closed at "
            f"{closed.isoformat()} (24 hours after their last message): only a template "
            "message can be sent"
        )


async def send_in_conversation(
    session: AsyncSession,
    project: Project,
    conversation_id: uuid.UUID,
    message: MessageIn,
    now: datetime,
) -> WhatsappMessage:
    """Queue a message to an active conversation's contact; delivered by the outbox job."""
    conversation = await conversations.lock_for(session, project, conversation_id)
    if conversation.status != "active":
        raise ConversationEnded()
    return await _queue(session, project, conversation, message, now)


async def send_to_phone(
    session: AsyncSession, project: Project, target: SendTarget, message: MessageIn, now: datetime
) -> WhatsappMessage:
    """Queue a message to a phone number on a config, finding or opening its conversation."""
    phone = target.phone_number or message.phone_number
    if not phone:
        raise BadMessage("phone_number is required: the number to send to, e.g. +15551234567")
    conversation = await _conversation_to(session, project, target, phone, now)
    return await _queue(session, project, conversation, message, now)


async def send_payload_to_phone(
    session: AsyncSession,
    project: Project,
    target: SendTarget,
    payload: dict[str, Any],
    now: datetime,
) -> WhatsappMessage:
    """Queue a Graph send body built elsewhere (a template's send) to ``target``'s number.

    ``payload["to"]`` is replaced by the number's wa_id; only templates may open a
    conversation outside the 24-hour window, like :func:`send_to_phone`.
    """
    config = await _config(session, project, target)
    sends = [(target.phone_number or "", payload)]
    (message,) = await send_payloads_to_phones(
        session, project, config.id, sends, now, inactivity=target.inactivity
    )
    return message


async def send_payloads_to_phones(
    session: AsyncSession,
    project: Project,
    config_id: uuid.UUID,
    sends: Sequence[tuple[str, dict[str, Any]]],
    now: datetime,
    *,
    inactivity: timedelta,
) -> list[WhatsappMessage]:
    """:func:`send_payload_to_phone` for several numbers (each once) on one config: their
    contacts and conversations found or opened together, locked in id order, one flush."""
    config = await resolve_config(session, project, config_id)
    wa_ids = [_wa_id(phone) for phone, _ in sends]
    people = await contacts.for_inbound_many(session, project.id, dict.fromkeys(wa_ids), now)
    current = await conversations.current_of(
        session, config_id=config.id, contacts=list(people.values()), now=now, inactivity=inactivity
    )
    locked = await conversations.lock_all(session, project, [c.id for c in current.values()])
    rows = []
    for wa_id, (_, payload) in zip(wa_ids, sends, strict=True):
        conversation = locked[current[people[wa_id].id].id]
        message_type = str(payload.get("type", "text"))
        if message_type != "template":
            last_inbound = await conversations.last_inbound_at(session, conversation)
            check_window(message_type, last_inbound, now, conversation.phone_number)
        rows.append(_row(conversation, message_type, {**payload, "to": wa_id}, now))
        conversations.touch(conversation, now, inbound=False)
    await queue_outbound_many(session, rows)
    return rows


async def _conversation_to(
    session: AsyncSession, project: Project, target: SendTarget, phone: str, now: datetime
) -> WhatsappConversation:
    """The (locked) current conversation with ``phone`` on the target's config."""
    wa_id = _wa_id(phone)
    config = await _config(session, project, target)
    contact = await contacts.for_phone(session, project.id, wa_id, now)
    return await conversations.current(
        session,
        config_id=config.id,
        contact=contact,
        now=now,
        inactivity=target.inactivity,
        lock=True,
    )


async def _queue(
    session: AsyncSession,
    project: Project,
    conversation: WhatsappConversation,
    message: MessageIn,
    now: datetime,
) -> WhatsappMessage:
    payload = await _payload(session, project, conversation, message)
    return await _insert(session, conversation, message.message_type, payload, now)


async def _insert(
    session: AsyncSession,
    conversation: WhatsappConversation,
    message_type: str,
    payload: dict[str, Any],
    now: datetime,
) -> WhatsappMessage:
    last_inbound = await conversations.last_inbound_at(session, conversation)
    check_window(message_type, last_inbound, now, conversation.phone_number)
    row = _row(conversation, message_type, payload, now)
    await queue_outbound(session, row)
    conversations.touch(conversation, now, inbound=False)
    return row


def _row(
    conversation: WhatsappConversation, message_type: str, payload: dict[str, Any], now: datetime
) -> WhatsappMessage:
    return WhatsappMessage(
        project_id=conversation.project_id,
        direction="outbound",
        conversation_id=conversation.id,
        whatsapp_config_id=conversation.whatsapp_config_id,
        phone_number=conversation.phone_number,
        message_type=message_type,
        content=describe(payload),
        payload=payload,
        created_at=now,
        updated_at=now,
    )


async def _payload(
    session: AsyncSession,
    project: Project,
    conversation: WhatsappConversation,
    message: MessageIn,
) -> dict[str, Any]:
    reacted = None
    if message.message_type == "reaction" and message.reacted_to_message_id:
        reacted = await _wamid_of(session, project, message.reacted_to_message_id)
    try:
        return compose(_wa_id(conversation.phone_number), message, reacted_wamid=reacted)
    except ValueError as error:
        raise BadMessage(_first_line(error)) from None


def _first_line(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error)


async def _wamid_of(session: AsyncSession, project: Project, reacted_to: str) -> str:
    """A reaction names our message id or Meta's wamid; Meta needs the wamid."""
    key = row_id(reacted_to)
    if key is None:
        return reacted_to
    target = await repository.get(session, project.id, key)
    if target is None:
        raise BadMessage("reacted_to_message_id names no message of this project")
    if target.wamid is None:
        raise BadMessage("the message reacted to has not reached WhatsApp yet (no wamid)")
    return target.wamid


def _wa_id(phone: str) -> str:
    try:
        return wa_id_of(phone)
    except ValueError as error:
        raise BadMessage(f"phone_number: {error}") from None


async def _config(session: AsyncSession, project: Project, target: SendTarget) -> WhatsappConfig:
    if target.whatsapp_config_id is None and target.customer_id is not None:
        config = await repository.config_of_customer(session, project.id, target.customer_id)
        if config is None:
            raise UnknownWhatsappConfig()
        return config
    return await resolve_config(session, project, target.whatsapp_config_id)


READ_TASK = "whatsapp_messages.mark_read"


class NotInbound(BadRequest):
    """Can only mark inbound messages as read."""


async def mark_as_read(
    session: AsyncSession,
    project: Project,
    message_id: str,
    *,
    typing_indicator: bool,
    now: datetime,
) -> WhatsappMessage:
    """Mark an inbound message read now; a job sends Meta's read receipt (once per message).

    A message already read is left as it is: no second receipt.
    """
    message = await get(session, project, message_id, for_update=True)
    if message.direction != "inbound":
        raise NotInbound()
    if message.read_at is None:
        message.read_at = now
        message.status = "read"
        message.updated_at = now
        payload = {"message_id": message.id, "typing_indicator": typing_indicator}
        await enqueue(
            session,
            READ_TASK,
            payload,
            dedupe_key=f"read:{message.id}",
            project_id=message.project_id,
        )
        await session.flush()
    return message


async def delete(session: AsyncSession, project: Project, message_id: str) -> None:
    """Delete a message from Threadline (not from WhatsApp); a queued one is then never sent."""
    message = await get(session, project, message_id, for_update=True)
    await repository.remove(session, message.id)


@dataclass(frozen=True)
class ReadReceipt:
    """What the read-receipt job needs, read before the Graph call."""

    message_id: int
    wamid: str
    target: DeliveryTarget


async def read_receipt(
    session: AsyncSession, cipher: Cipher, message_id: int, *, sandbox_url: str
) -> ReadReceipt | None:
    """The receipt to send for a message, or None if there is nothing to send it for."""
    message = await repository.get_by_id(session, message_id)
    if message is None or message.wamid is None:
        return None
    target = await delivery_target(session, cipher, message, sandbox_url=sandbox_url)
    return None if target is None else ReadReceipt(message.id, message.wamid, target)


async def record_receipt_error(
    session: AsyncSession, message_id: int, error: dict[str, Any]
) -> None:
    """Meta refused the read receipt for good: keep its error on the message."""
    message = await repository.get_by_id(session, message_id)
    if message is not None:
        message.last_error = {**error, "operation": "mark_as_read"}


class NoMedia(NotFound):
    """This message has no media to download."""

    error = "Media not found"


@dataclass(frozen=True)
class MediaSource:
    """Where a message's media is, and the token that reads it (read before any Graph call)."""

    media_id: str
    mime_type: str | None
    target: DeliveryTarget


async def media_source(
    session: AsyncSession, cipher: Cipher, project: Project, message_id: str, *, sandbox_url: str
) -> MediaSource:
    """The media of an inbound message of the project, to be proxied from the Graph API."""
    message = await get(session, project, message_id)
    data = type_data(message.payload)
    media_id = data.get("media_id")
    if message.direction != "inbound" or message.message_type not in MEDIA_TYPES or not media_id:
        raise NoMedia()
    target = await delivery_target(session, cipher, message, sandbox_url=sandbox_url)
    if target is None:
        raise NoMedia("The WhatsApp config this message came through no longer exists")
    return MediaSource(str(media_id), data.get("mime_type"), target)
