"""Storing a group of deliveries with set-based statements.

The same rows as storing each delivery alone (``receiver.store``), in a few statements
for the whole group: the conversations' locks in one (in id order), the messages in one
multi-row ``INSERT ... ON CONFLICT (whatsapp_config_id, wamid) DO NOTHING``, the inbox
jobs in one, the deliveries in one. Items Meta sent malformed, or that no config can
take, are recorded in their delivery's ``errors`` as before. Anything unexpected fails
the whole attempt: ``group.py`` runs it in a savepoint and then stores the group the
careful way, delivery by delivery, each in a savepoint of its own.

Order and once-only storage are kept: messages are inserted in the order they came
(the inbox goes by Meta's timestamp, then id), a wamid that comes twice in a group is
stored once, and only a newly stored conversational message wakes its inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.contacts import service as contacts
from threadline.conversations import service as conversations
from threadline.inbound import ingest, repository, routing
from threadline.inbound.items import CallItem, InboundMessage, StatusItem, is_turn
from threadline.inbound.receiver import Accepted
from threadline.kit.clock import utcnow
from threadline.models import InboundWebhook, WhatsappConfig, WhatsappConversation

#: An item's own fault: recorded in its delivery's errors, the others stored.
ITEM_FAULTS = (ValidationError, routing.Unroutable, ValueError)


@dataclass(frozen=True)
class _Message:
    message: InboundMessage
    raw: dict[str, Any]
    config: WhatsappConfig
    names: dict[str, str]


async def store_all(
    session: AsyncSession, deliveries: list[Accepted], settings: Settings
) -> list[int]:
    """Store the deliveries and their items; the stored rows' ids, in order."""
    now = utcnow()
    reports = [ingest.Report() for _ in deliveries]
    parsed: list[_Parsed] = []
    for accepted, report in zip(deliveries, reports, strict=True):
        scope = await routing.scope_of(session, accepted.config_id)
        for item in await ingest.items_of(session, accepted.delivery, scope, report):
            if item.kind == "account":  # rare: applied alone, like the careful path
                await ingest.apply_account_change(session, item, scope, report, now)
                continue
            found = _parse(item, report)
            if found is not None:
                parsed.append(found)
    messages = await _apply(session, parsed, now)
    await _store_messages(session, messages, settings, now)
    rows = [
        _webhook_row(accepted, report, now)
        for accepted, report in zip(deliveries, reports, strict=True)
    ]
    return await repository.insert_webhooks(session, rows)


@dataclass(frozen=True)
class _Parsed:
    item: ingest.Item
    report: ingest.Report
    value: InboundMessage | StatusItem | CallItem


_MODELS: dict[str, type[InboundMessage | StatusItem | CallItem]] = {
    "messages": InboundMessage,
    "statuses": StatusItem,
    "calls": CallItem,
}


def _parse(item: ingest.Item, report: ingest.Report) -> _Parsed | None:
    """The item validated; Meta's errors and malformed items go to the report."""
    if item.kind == "errors":
        report.failed(item.where, "Meta reported an error", meta=item.raw)
        return None
    model = _MODELS[item.kind]
    try:
        return _Parsed(item, report, model.model_validate(item.raw))
    except ValidationError as error:
        report.failed(item.where, str(error))
        return None


async def _apply(session: AsyncSession, parsed: list[_Parsed], now: datetime) -> list[_Message]:
    """Statuses applied in order; the messages routed to their configs, to store together."""
    routed = [(p.item.candidates, p.value) for p in parsed if isinstance(p.value, InboundMessage)]
    hints = await routing.sandbox_hints(session, routed)
    messages = []
    for p in parsed:
        if isinstance(p.value, StatusItem):
            await ingest.apply_status(session, p.item.candidates, p.value, now)
            continue
        if isinstance(p.value, CallItem):
            try:  # routed before anything of the call is written
                await ingest.apply_call(session, p.item.candidates, p.value, p.item.names, now)
            except routing.Unroutable as error:
                p.report.failed(p.item.where, str(error))
            continue
        try:  # raised before anything of the item was written
            config = await routing.config_for_sender(
                session, p.item.candidates, p.value, now, hints
            )
        except ITEM_FAULTS as error:
            p.report.failed(p.item.where, str(error))
            continue
        if config is not None:  # None: a sandbox activation code, consumed by the routing
            messages.append(_Message(p.value, p.item.raw, config, p.item.names))
    return messages


async def _store_messages(
    session: AsyncSession, messages: list[_Message], settings: Settings, now: datetime
) -> None:
    if not messages:
        return
    opened = await _conversations(session, messages, settings, now)
    # The inbox job decides "nothing left" under these locks: it cannot miss a message.
    locked = await repository.lock_conversations(session, {c.id for c in opened.values()})
    firsts: dict[tuple[Any, str], tuple[_Message, WhatsappConversation]] = {}
    for m in messages:
        conversation = locked[opened[(m.config.id, m.message.sender)].id]
        firsts.setdefault((m.config.id, m.message.id), (m, conversation))
    rows = [
        ingest.message_values(m.config, conversation.id, m.message, m.raw, now)
        for m, conversation in firsts.values()
    ]
    stored = await repository.insert_messages(session, rows)
    woken = []
    for key, (m, conversation) in firsts.items():
        if key in stored:
            conversations.touch(conversation, now, inbound=True)
            values = ingest.message_values(m.config, conversation.id, m.message, m.raw, now)
            await ingest.received(session, values, conversation, now)
            await ingest.record_permission_reply(session, m.config, m.message, now)
            if is_turn(m.message):
                woken.append(conversation.id)
    delay = timedelta(milliseconds=settings.inbound_debounce_ms)
    await conversations.wake_inboxes(session, woken, delay=delay or None)


async def _conversations(
    session: AsyncSession, messages: list[_Message], settings: Settings, now: datetime
) -> dict[tuple[Any, str], WhatsappConversation]:
    """Each sender's conversation on its number (contacts made or renamed to the latest
    name), read for all of a number's senders at once."""
    senders: dict[Any, tuple[WhatsappConfig, dict[str, str | None]]] = {}
    for m in messages:
        names = senders.setdefault(m.config.id, (m.config, {}))[1]
        sender = m.message.sender
        names[sender] = m.names.get(sender) or names.get(sender)
    inactivity = timedelta(minutes=settings.conversation_inactivity_minutes)
    opened = {}
    for config, names in senders.values():
        people = await contacts.for_inbound_many(session, config.project_id, names, now)
        current = await conversations.current_of(
            session,
            config_id=config.id,
            contacts=list(people.values()),
            now=now,
            inactivity=inactivity,
        )
        for sender in names:
            opened[(config.id, sender)] = current[people[sender].id]
    return opened


def _webhook_row(accepted: Accepted, report: ingest.Report, now: datetime) -> dict[str, Any]:
    row = InboundWebhook(
        project_id=accepted.project_id, whatsapp_config_id=accepted.config_id, body=accepted.body
    )
    row.received_at = now
    ingest.finish(row, report, now)
    columns = ("project_id", "whatsapp_config_id", "body", "status", "item_count", "errors")
    return {name: getattr(row, name) for name in columns} | {
        "received_at": row.received_at,
        "processed_at": row.processed_at,
    }
