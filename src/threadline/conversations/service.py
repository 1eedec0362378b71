"""Conversations: one active thread per (number, contact), ended by a person or by silence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversations import repository
from threadline.conversations.repository import ConversationFilters
from threadline.errors import NotFound, Unprocessable
from threadline.jobs.queue import NewJob, enqueue, enqueue_many
from threadline.kit.clock import utcnow
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappContact, WhatsappConversation
from threadline.whatsapp_webhooks import emitters as webhook_events
from threadline.whatsapp_webhooks import names

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


async def wake_inboxes(
    session: AsyncSession, conversation_ids: list[uuid.UUID], *, delay: timedelta | None = None
) -> None:
    """:func:`wake_inbox` for several conversations, in one statement."""
    run_at = utcnow() + delay if delay else None
    jobs = [
        NewJob(
            INBOX_TASK,
            {"conversation_id": str(conversation_id)},
            run_at=run_at,
            dedupe_key=inbox_key(conversation_id),
            lock_key=inbox_key(conversation_id),
        )
        for conversation_id in dict.fromkeys(conversation_ids)
    ]
    await enqueue_many(session, jobs)


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
    lock: bool = False,
) -> WhatsappConversation:
    """The conversation a message between the number and ``contact`` belongs to.

    A silent one past the inactivity period is ended first (its timer may not have run
    yet), and a new one opened; concurrent callers agree on one through the index. With
    ``lock`` it is row-locked (:func:`repository.lock`), or new: made by this
    transaction, no one else sees it before the commit.
    """
    conversation = await repository.active(session, config_id, contact.id, lock=lock)
    if conversation is not None and is_stale(conversation, now, inactivity):
        await close(session, conversation, "inactivity", now)
        await session.flush()
        conversation = None
    if conversation is None:
        conversation = await _open(session, config_id, contact, now, lock=lock)
        await schedule_expiry(session, conversation, inactivity)
    return conversation


async def current_of(
    session: AsyncSession,
    *,
    config_id: uuid.UUID,
    contacts: list[WhatsappContact],
    now: datetime,
    inactivity: timedelta,
) -> dict[uuid.UUID, WhatsappConversation]:
    """:func:`current` for several contacts of one number: their active ones read at once,
    the missing ones opened in one statement (a stale one is ended and replaced alone)."""
    found = await repository.active_of(session, config_id, [c.id for c in contacts])
    missing = [c for c in contacts if c.id not in found]
    for contact in contacts:
        conversation = found.get(contact.id)
        if conversation is not None and is_stale(conversation, now, inactivity):
            found[contact.id] = await current(
                session, config_id=config_id, contact=contact, now=now, inactivity=inactivity
            )
    if missing:
        found.update(await _open_many(session, config_id, missing, now, inactivity))
    return found


async def _open_many(
    session: AsyncSession,
    config_id: uuid.UUID,
    contacts: list[WhatsappContact],
    now: datetime,
    inactivity: timedelta,
) -> dict[uuid.UUID, WhatsappConversation]:
    rows = [
        repository.new_values(c.project_id, config_id, c.id, f"+{c.wa_id}", now) for c in contacts
    ]
    await repository.open_many(session, rows)
    opened = await repository.active_of(session, config_id, [c.id for c in contacts])
    ours = {row["id"] for row in rows}
    for conversation in opened.values():
        if conversation.id in ours:  # not one a concurrent message opened first
            await webhook_events.conversation_event(
                session, names.CONVERSATION_CREATED, conversation
            )
    await enqueue_many(session, [_expiry(c, inactivity) for c in opened.values() if c.id in ours])
    return opened


async def _open(
    session: AsyncSession,
    config_id: uuid.UUID,
    contact: WhatsappContact,
    now: datetime,
    *,
    lock: bool,
) -> WhatsappConversation:
    values = repository.new_values(
        contact.project_id, config_id, contact.id, f"+{contact.wa_id}", now
    )
    conversation = await repository.open_one(session, values)
    if conversation is not None:
        await webhook_events.conversation_event(session, names.CONVERSATION_CREATED, conversation)
        return conversation
    conversation = await repository.active(session, config_id, contact.id, lock=lock)
    assert conversation is not None  # a concurrent message opened it first
    return conversation


def touch(conversation: WhatsappConversation, now: datetime, *, inbound: bool) -> None:
    """A message went through: the conversation is active now (and its window opens)."""
    conversation.last_active_at = max(conversation.last_active_at, now)
    conversation.updated_at = now
    if inbound:
        last = conversation.last_inbound_at
        conversation.last_inbound_at = now if last is None else max(last, now)


async def close(
    session: AsyncSession, conversation: WhatsappConversation, reason: str, now: datetime
) -> None:
    """:func:`end`, told to the config's webhooks."""
    end(conversation, reason, now)
    await webhook_events.conversation_event(session, names.CONVERSATION_ENDED, conversation)


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
    await enqueue_many(session, [_expiry(conversation, inactivity)])


def _expiry(conversation: WhatsappConversation, inactivity: timedelta) -> NewJob:
    return NewJob(
        EXPIRE_TASK,
        {"conversation_id": str(conversation.id)},
        run_at=conversation.last_active_at + inactivity,
        dedupe_key=expiry_key(conversation.id),
        project_id=conversation.project_id,
    )


async def expire(
    session: AsyncSession, conversation_id: uuid.UUID, now: datetime, inactivity: timedelta
) -> None:
    """The inactivity timer fired: end the conversation, or re-arm it if it spoke since."""
    conversation = await repository.lock(session, conversation_id)
    if conversation is None or conversation.status != "active":
        return
    if is_stale(conversation, now, inactivity):
        await close(session, conversation, "inactivity", now)
    else:
        await schedule_expiry(session, conversation, inactivity)


class ConversationNotFound(NotFound):
    """The WhatsApp conversation does not exist in this project."""

    error = "WhatsApp conversation not found"


class AnotherConversationActive(Unprocessable):
    """Another conversation with this contact on this number is active; end it first."""


Described = tuple[WhatsappConversation, WhatsappContact]


async def list_for(
    session: AsyncSession, project: Project, filters: ConversationFilters, page: PageParams
) -> tuple[list[Described], int]:
    """A page of the project's conversations, most recently active first."""
    return await repository.list_for(
        session, project.id, filters, offset=page.offset, limit=page.per_page
    )


async def get(session: AsyncSession, project: Project, conversation_id: uuid.UUID) -> Described:
    """One conversation of the project, with its contact (another project's is a 404)."""
    found = await repository.get(session, project.id, conversation_id)
    if found is None:
        raise ConversationNotFound()
    return found


async def lock_all(
    session: AsyncSession, project: Project, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, WhatsappConversation]:
    """:func:`lock_for` for several of the project's conversations, in id order."""
    locked = await repository.lock_many(session, conversation_ids)
    if any(row.project_id != project.id for row in locked.values()):
        raise ConversationNotFound()
    return locked


async def lock_for(
    session: AsyncSession, project: Project, conversation_id: uuid.UUID
) -> WhatsappConversation:
    """The project's conversation, its row locked (senders and deliverers agree through it)."""
    await get(session, project, conversation_id)
    conversation = await repository.lock(session, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


async def set_status(
    session: AsyncSession,
    project: Project,
    conversation_id: uuid.UUID,
    status: str,
    *,
    now: datetime,
    inactivity: timedelta,
) -> Described:
    """End a conversation (reason ``api``) or reopen an ended one; the same status is a no-op.

    Reopening is refused while another conversation with the contact on the number is
    active: one active conversation per number and contact is a database rule.
    """
    conversation = await lock_for(session, project, conversation_id)
    if status == "ended" and conversation.status == "active":
        await close(session, conversation, "api", now)
    elif status == "active" and conversation.status == "ended":
        await _reopen(session, conversation, now, inactivity)
    await session.flush()
    return await get(session, project, conversation_id)


async def _reopen(
    session: AsyncSession, conversation: WhatsappConversation, now: datetime, inactivity: timedelta
) -> None:
    if await repository.active(session, conversation.whatsapp_config_id, conversation.contact_id):
        raise AnotherConversationActive()
    conversation.status = "active"
    conversation.ended_at = None
    conversation.ended_reason = None
    conversation.last_active_at = now
    conversation.updated_at = now
    await session.flush()
    await schedule_expiry(session, conversation, inactivity)


async def last_inbound_at(
    session: AsyncSession, conversation: WhatsappConversation
) -> datetime | None:
    """When the contact last wrote to the conversation's number (any of their conversations)."""
    return await repository.last_inbound_at(
        session, conversation.whatsapp_config_id, conversation.contact_id
    )
