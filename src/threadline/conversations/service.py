"""Conversations: one active thread per (number, contact), ended by a person or by silence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversations import repository
from threadline.jobs.queue import enqueue
from threadline.models import WhatsappContact, WhatsappConversation

EXPIRE_TASK = "conversations.expire"


def expiry_key(conversation_id: uuid.UUID) -> str:
    """Dedupe key of a conversation's inactivity timer."""
    return f"inactive:{conversation_id}"


def is_stale(conversation: WhatsappConversation, now: datetime, inactivity: timedelta) -> bool:
    """Whether the conversation has been silent for the inactivity period."""
    return conversation.last_active_at + inactivity <= now


async def current(
    session: AsyncSession,
    *,
    config_id: uuid.UUID,
    contact: WhatsappContact,
    now: datetime,
    inactivity: timedelta,
) -> WhatsappConversation:
    """The conversation a message between the number and ``contact`` belongs to.

    A silent one past the inactivity period is ended first (its timer may not have run
    yet), and a new one opened; concurrent callers agree on one through the index.
    """
    conversation = await repository.active(session, config_id, contact.id)
    if conversation is not None and is_stale(conversation, now, inactivity):
        end(conversation, "inactivity", now)
        await session.flush()
        conversation = None
    if conversation is None:
        conversation = await _open(session, config_id, contact, now)
        await schedule_expiry(session, conversation, inactivity)
    return conversation


async def _open(
    session: AsyncSession, config_id: uuid.UUID, contact: WhatsappContact, now: datetime
) -> WhatsappConversation:
    await repository.open_if_none(
        session,
        project_id=contact.project_id,
        config_id=config_id,
        contact_id=contact.id,
        phone_number=f"+{contact.wa_id}",
        now=now,
    )
    conversation = await repository.active(session, config_id, contact.id)
    assert conversation is not None  # opened now, or by a concurrent message
    return conversation


def touch(conversation: WhatsappConversation, now: datetime, *, inbound: bool) -> None:
    """A message went through: the conversation is active now (and its window opens)."""
    conversation.last_active_at = max(conversation.last_active_at, now)
    conversation.updated_at = now
    if inbound:
        last = conversation.last_inbound_at
        conversation.last_inbound_at = now if last is None else max(last, now)


def end(conversation: WhatsappConversation, reason: str, now: datetime) -> None:
    """Close the conversation; the next message opens a new one."""
    conversation.status = "ended"
    conversation.ended_at = now
    conversation.ended_reason = reason
    conversation.updated_at = now


async def schedule_expiry(
    session: AsyncSession, conversation: WhatsappConversation, inactivity: timedelta
) -> None:
    """Arm the timer that ends the conversation after the inactivity period."""
    await enqueue(
        session,
        EXPIRE_TASK,
        {"conversation_id": str(conversation.id)},
        run_at=conversation.last_active_at + inactivity,
        dedupe_key=expiry_key(conversation.id),
    )


async def expire(
    session: AsyncSession, conversation_id: uuid.UUID, now: datetime, inactivity: timedelta
) -> None:
    """The inactivity timer fired: end the conversation, or re-arm it if it spoke since."""
    conversation = await repository.lock(session, conversation_id)
    if conversation is None or conversation.status != "active":
        return
    if is_stale(conversation, now, inactivity):
        end(conversation, "inactivity", now)
    else:
        await schedule_expiry(session, conversation, inactivity)
