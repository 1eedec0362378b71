"""The facts of the channel as webhook events: called where each fact is written.

Each function first asks :func:`events.wanted` (cached; no query for a config without
webhooks) and builds its payload only when someone will receive it. Payloads follow
Kapso's "v2" shape: the message as Meta has it plus a ``kapso`` block, the
conversation, and ``phone_number_id`` at the root.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.models import FlowExecution, WhatsappConversation, WhatsappMessage
from threadline.whatsapp_configs import service as configs
from threadline.whatsapp_webhooks import events, names, repository

INACTIVE_TASK = "whatsapp_webhooks.inactive"


def _at(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def conversation_payload(conversation: WhatsappConversation) -> dict[str, Any]:
    """The conversation as events show it."""
    return {
        "id": str(conversation.id),
        "phone_number": conversation.phone_number,
        "status": conversation.status,
        "last_active_at": _at(conversation.last_active_at),
        "created_at": _at(conversation.created_at),
        "updated_at": _at(conversation.updated_at),
        "ended_at": _at(conversation.ended_at),
        "ended_reason": conversation.ended_reason,
    }


def message_payload(values: dict[str, Any]) -> dict[str, Any]:
    """A message (its row's columns) as events show it: Meta's object plus ``kapso``."""
    raw = values.get("payload") or {}
    meta = dict(raw) if values.get("direction") == "inbound" else {"to": values["phone_number"]}
    meta.setdefault("id", values.get("wamid"))
    meta.setdefault("type", values.get("message_type"))
    kapso = {
        "id": values.get("id"),
        "direction": values.get("direction"),
        "status": values.get("status"),
        "processing_status": values.get("processing_status"),
        "content": values.get("content"),
        "has_media": values.get("message_type")
        in ("image", "audio", "video", "document", "sticker"),
        "error": values.get("last_error"),
    }
    return meta | {"kapso": kapso}


def _columns(message: WhatsappMessage) -> dict[str, Any]:
    names_ = ("id", "direction", "phone_number", "message_type", "content", "payload", "status")
    extra = ("processing_status", "wamid", "last_error")
    return {name: getattr(message, name) for name in (*names_, *extra)}


async def _phone_number_id(session: AsyncSession, config_id: uuid.UUID) -> str | None:
    config = await configs.find_by_id(session, config_id)
    return None if config is None else config.phone_number_id


async def _conversation(
    session: AsyncSession, conversation_id: uuid.UUID | None
) -> WhatsappConversation | None:
    if conversation_id is None:
        return None
    return await session.get(WhatsappConversation, conversation_id)


async def message_event(
    session: AsyncSession,
    name: str,
    values: dict[str, Any],
    *,
    conversation: WhatsappConversation | None = None,
    is_new_conversation: bool | None = None,
) -> None:
    """A message event (``values``: the message's columns; its config, project, conversation)."""
    config_id, project_id = values["whatsapp_config_id"], values["project_id"]
    if config_id is None:
        return
    await _arm_inactivity(session, config_id, values.get("conversation_id"))
    if not await events.wanted(session, config_id, name):
        return
    conversation = conversation or await _conversation(session, values.get("conversation_id"))
    data: dict[str, Any] = {
        "message": message_payload(values),
        "conversation": None if conversation is None else conversation_payload(conversation),
        "phone_number_id": await _phone_number_id(session, config_id),
    }
    if is_new_conversation is not None:
        data["is_new_conversation"] = is_new_conversation
    conversation_id = values.get("conversation_id")
    await events.emit(session, events.Event(name, project_id, config_id, conversation_id, data))


async def message_row_event(session: AsyncSession, name: str, message: WhatsappMessage) -> None:
    """:func:`message_event` for a stored message row."""
    values = _columns(message) | {
        "whatsapp_config_id": message.whatsapp_config_id,
        "project_id": message.project_id,
        "conversation_id": message.conversation_id,
    }
    await message_event(session, name, values)


async def status_event(session: AsyncSession, message: WhatsappMessage, status: str) -> None:
    """Meta reported a status that moved an outbound message forward."""
    name = names.STATUS_EVENTS.get(status)
    if name is not None:
        await message_row_event(session, name, message)


async def conversation_event(
    session: AsyncSession,
    name: str,
    conversation: WhatsappConversation,
    *,
    only: uuid.UUID | None = None,
) -> None:
    """A conversation was created, ended, or fell silent (``only``: for that webhook)."""
    config_id = conversation.whatsapp_config_id
    if not await events.wanted(session, config_id, name):
        return
    data = {
        "conversation": conversation_payload(conversation),
        "phone_number_id": await _phone_number_id(session, config_id),
    }
    event = events.Event(name, conversation.project_id, config_id, conversation.id, data)
    await events.emit(session, event, only=only)


async def execution_event(session: AsyncSession, name: str, execution: FlowExecution) -> None:
    """A flow execution failed (or was handed off), for its config's webhooks."""
    config_id = execution.whatsapp_config_id
    if config_id is None or not await events.wanted(session, config_id, name):
        return
    data = {
        "flow_execution": {
            "id": str(execution.id),
            "flow_id": str(execution.flow_id),
            "status": execution.status,
            "wait_reason": execution.wait_reason,
            "tracking_id": str(execution.tracking_id),
            "phone_number": execution.phone_number,
            "error": execution.error,
            "started_at": _at(execution.started_at),
            "ended_at": _at(execution.ended_at),
        },
        "whatsapp_conversation_id": None
        if execution.conversation_id is None
        else str(execution.conversation_id),
        "phone_number_id": await _phone_number_id(session, config_id),
    }
    event = events.Event(name, execution.project_id, config_id, execution.conversation_id, data)
    await events.emit(session, event)


async def agent_execution_event(session: AsyncSession, name: str, execution: FlowExecution) -> None:
    """An agent execution started, ended, failed or handed off, for its number's webhooks."""
    config_id = execution.whatsapp_config_id
    if execution.test or config_id is None or not await events.wanted(session, config_id, name):
        return
    data = {
        "agent_execution": {
            "id": str(execution.id),
            "agent_id": str(execution.agent_id),
            "agent_snapshot_id": str(execution.agent_snapshot_id),
            "status": execution.status,
            "wait_reason": execution.wait_reason,
            "phone_number": execution.phone_number,
            "current_node": execution.current_node_id or None,
            "error": execution.error,
            "started_at": _at(execution.started_at),
            "ended_at": _at(execution.ended_at),
        },
        "whatsapp_conversation_id": None
        if execution.conversation_id is None
        else str(execution.conversation_id),
        "phone_number_id": await _phone_number_id(session, config_id),
    }
    event = events.Event(name, execution.project_id, config_id, execution.conversation_id, data)
    await events.emit(session, event)


def inactivity_key(webhook_id: uuid.UUID, conversation_id: uuid.UUID) -> str:
    """The dedupe key of one webhook's inactivity timer on one conversation."""
    return f"{INACTIVE_TASK}:{webhook_id}:{conversation_id}"


async def _arm_inactivity(
    session: AsyncSession, config_id: uuid.UUID, conversation_id: uuid.UUID | None
) -> None:
    """A message went through: (re)start the inactivity timers of the webhooks that ask."""
    if conversation_id is None:
        return
    for target in await events.wanted(session, config_id, names.CONVERSATION_INACTIVE):
        await arm(session, target.id, target.project_id, conversation_id, target.inactivity_minutes)


async def arm(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    project_id: uuid.UUID,
    conversation_id: uuid.UUID,
    minutes: int,
    *,
    since: datetime | None = None,
) -> None:
    """The timer that checks the conversation for silence ``minutes`` after ``since``."""
    await enqueue(
        session,
        INACTIVE_TASK,
        {"webhook_id": str(webhook_id), "conversation_id": str(conversation_id)},
        run_at=(since or utcnow()) + timedelta(minutes=minutes),
        dedupe_key=inactivity_key(webhook_id, conversation_id),
        replace=True,
        project_id=project_id,
    )


async def check_inactive(
    session: AsyncSession, webhook_id: uuid.UUID, conversation_id: uuid.UUID, now: datetime
) -> None:
    """The timer fired: the event if the conversation stayed silent, else the timer re-armed."""
    webhook = await repository.by_id(session, webhook_id)
    conversation = await _conversation(session, conversation_id)
    if webhook is None or not webhook.active or conversation is None:
        return
    if conversation.status != "active" or names.CONVERSATION_INACTIVE not in webhook.events:
        return
    silent_since = conversation.last_active_at
    if silent_since + timedelta(minutes=webhook.inactivity_minutes) > now:
        minutes = webhook.inactivity_minutes
        await arm(
            session, webhook.id, webhook.project_id, conversation.id, minutes, since=silent_since
        )
        return
    await conversation_event(session, names.CONVERSATION_INACTIVE, conversation, only=webhook.id)
