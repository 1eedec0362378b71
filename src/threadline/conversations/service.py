"""Conversations: one active thread per (number, contact), ended by a person or by silence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversations import repository
from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.models import WhatsappContact, WhatsappConversation

EXPIRE_TASK = "conversations.expire"
#: Processes a conversation's inbound messages one at a time (registered by ``inbound``).
INBOX_TASK = "inbound.inbox"


def inbox_key(conversation_id: uuid.UUID | str) -> str:
    """Dedupe and lock key of a conversation's inbox job: one runs at a time, in order."""
    return f"inbox:{conversation_id}"


async def wake_inbox(
    session: AsyncSession, conversation_id: uuid.UUID, *, delay: timedelta | None = None
) -> None:
    """Make sure a job will process the conversation's pending inbound messages.

    Callers that add a message hold the conversation's row lock, and the job decides it
    is done under that lock, so a queued job that this enqueue folds into sees it.
    """
    key = inbox_key(conversation_id)
    run_at = utcnow() + delay if delay else None
    await enqueue(
        session,
        INBOX_TASK,
        {"conversation_id": str(conversation_id)},
        run_at=run_at,
        dedupe_key=key,
        lock_key=key,
    )


async def wake_inbox_if_pending(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """An execution stopped running: carry on with messages that came in meanwhile."""
    if await repository.has_pending_inbound(session, conversation_id):
        await wake_inbox(session, conversation_id)


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
