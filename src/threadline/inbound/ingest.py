"""Turning a stored delivery into rows: messages, statuses and Meta's errors.

Each item is applied in a savepoint of its own, so a malformed one is recorded as an
error of the delivery while the others are stored. A message is stored once per number
(the unique ``(whatsapp_config_id, wamid)`` decides, however many copies arrive at once);
a new conversational one wakes its conversation's inbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.calls import service as calls
from threadline.config import Settings
from threadline.contacts import service as contacts
from threadline.conversations import service as conversations
from threadline.inbound import envelope, routing
from threadline.inbound.items import CallItem, InboundMessage, StatusItem, is_turn, permission_reply
from threadline.kit.sql import insert_ignoring_conflict
from threadline.messaging import statuses
from threadline.models import (
    InboundWebhook,
    WhatsappConfig,
    WhatsappConversation,
    WhatsappMessage,
)
from threadline.whatsapp.content import describe
from threadline.whatsapp_broadcasts import service as broadcasts
from threadline.whatsapp_display_names import service as display_names
from threadline.whatsapp_templates import service as templates
from threadline.whatsapp_webhooks import emitters as webhook_events
from threadline.whatsapp_webhooks import names

log = logging.getLogger("threadline.inbound")


@dataclass
class Report:
    """What processing a delivery did: items handled and the ones that failed."""

    items: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def failed(self, where: str, error: str, **extra: Any) -> None:
        """Record one item that could not be applied."""
        self.errors.append({"item": where, "error": error[:500], **extra})
        log.warning("webhook item not applied", extra={"item": where, "error": error[:500]})


#: Applies a change about the account (``session, field, value, project_id, now``);
#: how many of our rows it changed.
AccountApplier = Callable[
    [AsyncSession, str, dict[str, Any], uuid.UUID | None, datetime], Awaitable[int]
]


async def _display_name(
    session: AsyncSession,
    _field: str,
    value: dict[str, Any],
    project_id: uuid.UUID | None,
    now: datetime,
) -> int:
    return await display_names.apply_webhook(session, value, project_id, now)


#: The changes about the account rather than messages, by field, and what applies each.
ACCOUNT_CHANGES: dict[str, AccountApplier] = {
    **dict.fromkeys(templates.WEBHOOK_FIELDS, templates.apply_webhook),
    display_names.WEBHOOK_FIELD: _display_name,
}

#: The items each field of a change carries, in the order they are applied.
KINDS_BY_FIELD = {"messages": ("messages", "statuses", "errors"), "calls": ("calls", "errors")}


@dataclass(frozen=True)
class Item:
    """One ``messages[]``, ``statuses[]`` or ``errors[]`` item, with what routes it."""

    #: "messages", "statuses", "calls", "errors" or "account" (see ``ACCOUNT_CHANGES``)
    kind: str
    where: str
    raw: Any
    candidates: list[WhatsappConfig]
    names: dict[str, str]


async def process(
    session: AsyncSession,
    webhook: InboundWebhook,
    settings: Settings,
    now: datetime,
    *,
    delivery: envelope.Envelope | None = None,
) -> Report:
    """Apply every change of a stored delivery (``delivery``: its body, already parsed)."""
    report = Report()
    delivery = delivery or envelope.parse(webhook.body.encode())
    scope = await routing.scope_of(session, webhook.whatsapp_config_id)
    for item in await items_of(session, delivery, scope, report):
        if item.kind == "errors":
            report.failed(item.where, "Meta reported an error", meta=item.raw)
            continue
        if item.kind == "account":
            await apply_account_change(session, item, scope, report, now)
            continue
        async with _isolated(session, report, item.where):
            if item.kind == "messages":
                await _message(session, item.candidates, item.raw, item.names, settings, now)
            elif item.kind == "calls":
                await apply_call(
                    session, item.candidates, CallItem.model_validate(item.raw), item.names, now
                )
            else:
                await _status(session, item.candidates, item.raw, now)
    return report


def finish(webhook: InboundWebhook, report: Report, now: datetime) -> None:
    """Mark the delivery processed, with what it held and what failed."""
    webhook.status, webhook.processed_at = "processed", now
    webhook.item_count, webhook.errors = report.items, report.errors or None


async def items_of(
    session: AsyncSession,
    delivery: envelope.Envelope,
    scope: WhatsappConfig | None,
    report: Report,
) -> list[Item]:
    """The delivery's items in order, counted in ``report`` (with the changes no config has)."""
    found: list[Item] = []
    for e, entry in enumerate(delivery.entry):
        for c, change in enumerate(entry.changes):
            where = f"entry[{e}].changes[{c}]"
            found.extend(await _items_of_change(session, change, scope, report, where))
    return found


async def _items_of_change(
    session: AsyncSession,
    change: envelope.Change,
    scope: WhatsappConfig | None,
    report: Report,
    where: str,
) -> list[Item]:
    value = change.value
    if change.field in ACCOUNT_CHANGES:
        report.items += 1
        return [Item("account", f"{where}.value", {"field": change.field, "value": value}, [], {})]
    kinds = KINDS_BY_FIELD.get(change.field)
    if kinds is None:
        report.items += 1
        log.info("webhook field not handled", extra={"field": change.field, "item": where})
        return []
    number = str((value.get("metadata") or {}).get("phone_number_id") or "")
    candidates = await routing.configs_for(session, number, scope)
    if not candidates:
        report.failed(where, f"no WhatsApp config has phone_number_id {number!r}")
        return []
    names = _profile_names(value)
    found = []
    for kind in kinds:
        items = value.get(kind)
        for i, item in enumerate(items if isinstance(items, list) else []):
            report.items += 1
            found.append(Item(kind, f"{where}.value.{kind}[{i}]", item, candidates, names))
    return found


class _isolated:
    """A savepoint around one item: its failure is reported and rolled back alone."""

    def __init__(self, session: AsyncSession, report: Report, where: str) -> None:
        self.session, self.report, self.where = session, report, where

    async def __aenter__(self) -> None:
        self.savepoint = await self.session.begin_nested()

    async def __aexit__(self, kind: type[BaseException] | None, error: Any, tb: Any) -> bool:
        if error is None:
            await self.savepoint.commit()
            return False
        await self.savepoint.rollback()
        if isinstance(error, ValidationError | routing.Unroutable | ValueError):
            self.report.failed(self.where, str(error))
            return True
        return False


def _profile_names(value: dict[str, Any]) -> dict[str, str]:
    names = {}
    for contact in value.get("contacts") or []:
        if isinstance(contact, dict) and contact.get("wa_id"):
            name = (contact.get("profile") or {}).get("name")
            if isinstance(name, str) and name:
                names[str(contact["wa_id"])] = name[:200]
    return names


async def _message(
    session: AsyncSession,
    candidates: list[WhatsappConfig],
    item: Any,
    names: dict[str, str],
    settings: Settings,
    now: datetime,
) -> None:
    message = InboundMessage.model_validate(item)
    config = await routing.config_for_sender(session, candidates, message, now)
    if config is None:
        return  # an activation code for a sandbox session: consumed by the routing
    # The inbox job decides "nothing left" under this lock: it cannot miss this message.
    conversation = await conversation_of(session, config, message.sender, names, settings, now)
    if await _store(session, config, conversation.id, message, item, now):
        conversations.touch(conversation, now, inbound=True)
        values = message_values(config, conversation.id, message, item, now)
        await received(session, values, conversation, now)
        await record_permission_reply(session, config, message, now)
        if is_turn(message):
            delay = timedelta(milliseconds=settings.inbound_debounce_ms)
            await conversations.wake_inbox(session, conversation.id, delay=delay or None)


async def received(
    session: AsyncSession,
    values: dict[str, Any],
    conversation: WhatsappConversation,
    now: datetime,
) -> None:
    """A newly stored inbound message, for the config's webhooks and broadcasts."""
    config_id = values.get("whatsapp_config_id")
    if config_id is not None:
        await broadcasts.record_reply(session, config_id, str(values["phone_number"]), now)
    await webhook_events.message_event(
        session,
        names.MESSAGE_RECEIVED,
        values,
        conversation=conversation,
        is_new_conversation=conversation.created_at == now,
    )


async def conversation_of(
    session: AsyncSession,
    config: WhatsappConfig,
    sender: str,
    names: dict[str, str],
    settings: Settings,
    now: datetime,
) -> WhatsappConversation:
    """The sender's contact (made or renamed) and its current conversation on the number,
    row-locked."""
    contact = await contacts.for_inbound(session, config.project_id, sender, names.get(sender), now)
    inactivity = timedelta(minutes=settings.conversation_inactivity_minutes)
    return await conversations.current(
        session, config_id=config.id, contact=contact, now=now, inactivity=inactivity, lock=True
    )


async def _store(
    session: AsyncSession,
    config: WhatsappConfig,
    conversation_id: Any,
    message: InboundMessage,
    raw: dict[str, Any],
    now: datetime,
) -> bool:
    """Insert the message (as Meta sent it) unless the number has its wamid; True if new."""
    values = message_values(config, conversation_id, message, raw, now)
    return await insert_ignoring_conflict(
        session, WhatsappMessage, values, conflict_on=("whatsapp_config_id", "wamid")
    )


def message_values(
    config: WhatsappConfig,
    conversation_id: Any,
    message: InboundMessage,
    raw: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The columns of an inbound message's row, as Meta sent it."""
    return {
        "project_id": config.project_id,
        "direction": "inbound",
        "conversation_id": conversation_id,
        "whatsapp_config_id": config.id,
        "phone_number": f"+{message.sender}",
        "message_type": message.type[:20],
        "content": describe(raw),
        "payload": raw,
        "status": "received",
        "processing_status": "pending" if is_turn(message) else "skipped",
        "attempts": 0,
        "wamid": message.id,
        "meta_timestamp": message.timestamp or now,
        "created_at": now,
        "updated_at": now,
    }


async def record_permission_reply(
    session: AsyncSession, config: WhatsappConfig, message: InboundMessage, now: datetime
) -> None:
    """A newly stored answer to a call permission request updates the contact's permission."""
    reply = permission_reply(message)
    if reply is not None:
        at = (message.id, message.timestamp)
        await calls.record_permission_reply(session, config, message.sender, reply, at, now)


async def apply_call(
    session: AsyncSession,
    candidates: list[WhatsappConfig],
    item: CallItem,
    names: dict[str, str],
    now: datetime,
) -> None:
    """Record a call event on the number it is about (its config of the same project)."""
    config = await routing.config_for_caller(session, candidates, item.user_wa_id)
    event = calls.CallEvent(
        call_id=item.id,
        event=item.event.lower(),
        user_initiated=item.user_initiated,
        user_wa_id=item.user_wa_id,
        at=item.timestamp,
        status=item.status,
        start_time=item.start_time,
        end_time=item.end_time,
        duration=item.duration,
    )
    await calls.record_event(session, config, event, names.get(item.user_wa_id), now)


async def apply_account_change(
    session: AsyncSession,
    item: Item,
    scope: WhatsappConfig | None,
    report: Report,
    now: datetime,
) -> None:
    """A change about the account rather than messages (a template's or a display name's
    review), applied in a savepoint to what mirrors it: in the project of the config the
    webhook URL names, if any."""
    field, value = item.raw["field"], item.raw["value"]
    project_id = scope.project_id if scope is not None else None
    async with _isolated(session, report, item.where):
        if not await ACCOUNT_CHANGES[field](session, field, value, project_id, now):
            log.info("account change for nothing of ours", extra={"field": field})


async def _status(
    session: AsyncSession, candidates: list[WhatsappConfig], item: Any, now: datetime
) -> None:
    await apply_status(session, candidates, StatusItem.model_validate(item), now)


async def apply_status(
    session: AsyncSession, candidates: list[WhatsappConfig], status: StatusItem, now: datetime
) -> None:
    """Record a delivery receipt on the config whose outbound message it is about."""
    config = await routing.config_for_status(session, candidates, status)
    await statuses.record(
        session,
        statuses.Status(
            config_id=config.id,
            wamid=status.id,
            status=status.status,
            at=status.timestamp,
            payload=status.model_dump(mode="json"),
            callback_data=status.biz_opaque_callback_data,
            project_id=config.project_id,
        ),
        now,
    )
