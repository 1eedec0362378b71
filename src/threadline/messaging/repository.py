"""SQL for the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.sql import insert_ignoring_conflict
from threadline.models import (
    ExecutionEvent,
    FlowExecution,
    MessageStatusEvent,
    WhatsappConversation,
    WhatsappMessage,
)
from threadline.models.whatsapp_message import OUTBOX_PENDING

PENDING = ("queued", "sending")
ACTIVE_EXECUTION = ("running", "waiting")


# Built once: every step that sends runs them.
_INSERT_MESSAGES = insert(cast(Table, WhatsappMessage.__table__))
_INSERT_EVENT = insert(cast(Table, ExecutionEvent.__table__))


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows in one multi-row INSERT (Core, like the event log)."""
    await session.execute(_INSERT_MESSAGES, rows)


async def add_event(session: AsyncSession, row: dict[str, Any]) -> None:
    """Append a delivery event to the execution's event log."""
    await session.execute(_INSERT_EVENT, [row])


async def next_pending(
    session: AsyncSession, scope_id: uuid.UUID, *, by_conversation: bool = False
) -> WhatsappMessage | None:
    """The oldest message not yet settled of an execution (or of a conversation)."""
    column = WhatsappMessage.conversation_id if by_conversation else WhatsappMessage.execution_id
    statement = (
        select(WhatsappMessage)
        .where(column == scope_id, OUTBOX_PENDING)
        .order_by(WhatsappMessage.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def first_pending(
    session: AsyncSession, scope_ids: Sequence[uuid.UUID], *, by_conversation: bool
) -> dict[uuid.UUID, WhatsappMessage]:
    """The oldest message not yet settled of each of many conversations (or executions),
    in one statement, by scope id (as :func:`next_pending` for one)."""
    if not scope_ids:
        return {}
    column = WhatsappMessage.conversation_id if by_conversation else WhatsappMessage.execution_id
    firsts = (
        select(func.min(WhatsappMessage.id))
        .where(column.in_(scope_ids), WhatsappMessage.status.in_(PENDING))
        .group_by(column)
    )
    statement = (
        select(WhatsappMessage)
        .where(WhatsappMessage.id.in_(firsts))
        .execution_options(populate_existing=True)
    )
    found = (await session.execute(statement)).scalars()
    return {
        scope_id: message
        for message in found
        if (scope_id := message.conversation_id if by_conversation else message.execution_id)
    }


async def start_attempts(
    session: AsyncSession, message_ids: Sequence[int], now: datetime
) -> set[int]:
    """Mark queued messages ``sending`` (attempt recorded) in one statement; those it moved."""
    if not message_ids:
        return set()
    statement = (
        update(WhatsappMessage)
        .where(WhatsappMessage.id.in_(message_ids), WhatsappMessage.status == "queued")
        .values(status="sending", attempts=WhatsappMessage.attempts + 1, attempted_at=now)
        .returning(WhatsappMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set((await session.execute(statement)).scalars())


async def mark_sent(session: AsyncSession, wamids: dict[int, str], now: datetime) -> set[int]:
    """Record many accepted sends in one statement (a late answer settles an unknown one).

    Returns the ids it moved: those still ``sending`` or ``unknown``.
    """
    if not wamids:
        return set()
    statement = (
        update(WhatsappMessage)
        .where(
            WhatsappMessage.id.in_(list(wamids)),
            WhatsappMessage.status.in_(("sending", "unknown")),
        )
        .values(
            status="sent",
            wamid=case(wamids, value=WhatsappMessage.id),
            sent_at=now,
            last_error=None,
        )
        .returning(WhatsappMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set((await session.execute(statement)).scalars())


async def add_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append many events to the event log in one multi-row INSERT."""
    if rows:
        await session.execute(insert(cast(Table, ExecutionEvent.__table__)), rows)


async def lock_queuers(
    session: AsyncSession,
    conversation_ids: Sequence[uuid.UUID],
    execution_ids: Sequence[uuid.UUID],
) -> None:
    """Wait for, then hold, the locks of everyone who may queue messages to these scopes.

    The conversations' rows first (``FOR NO KEY UPDATE``, see :func:`lock_conversation`),
    in id order; then, in id order, the running or waiting executions of those
    conversations and the executions named (``FOR NO KEY UPDATE`` too): the order every
    holder of both takes them in.
    """
    if conversation_ids:
        conversations = (
            select(WhatsappConversation.id)
            .where(WhatsappConversation.id.in_(sorted(conversation_ids)))
            .order_by(WhatsappConversation.id)
            .with_for_update(key_share=True)
        )
        await session.execute(conversations)
    active = FlowExecution.conversation_id.in_(conversation_ids) & FlowExecution.status.in_(
        ACTIVE_EXECUTION
    )
    named = FlowExecution.id.in_(execution_ids)
    if conversation_ids or execution_ids:
        executions = (
            select(FlowExecution.id)
            .where(or_(active, named))
            .order_by(FlowExecution.id)
            # NO KEY UPDATE: it excludes every queuer (they lock or update the row) but not
            # a transaction that only inserts rows referring to the execution (an event of a
            # status webhook), which may hold the message row this deliverer records next.
            .with_for_update(key_share=True)
        )
        await session.execute(executions)


async def lock_execution(session: AsyncSession, execution_id: uuid.UUID) -> None:
    """Wait for, then hold, the execution's row lock (the one every advancing step holds).

    On SQLite the statement is a plain read: the transaction already holds the write lock.
    """
    statement = select(FlowExecution.id).where(FlowExecution.id == execution_id).with_for_update()
    await session.execute(statement)


async def lock_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Wait for, then hold, the conversation's row lock (the one every API send holds).

    ``FOR NO KEY UPDATE``, like ``conversations.repository.lock``: a step inserting a
    message of the conversation holds a key-share lock on the row (the foreign key) while
    this deliverer waits for that step's execution lock; ``FOR UPDATE`` would deadlock.
    """
    statement = (
        select(WhatsappConversation.id)
        .where(WhatsappConversation.id == conversation_id)
        .with_for_update(key_share=True)
    )
    await session.execute(statement)


async def lock_active_executions(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Wait for, then hold, the row locks of the conversation's running or waiting executions.

    Taken in id order, after the conversation's lock, like every other holder of both.
    """
    statement = (
        select(FlowExecution.id)
        .where(
            FlowExecution.conversation_id == conversation_id,
            FlowExecution.status.in_(ACTIVE_EXECUTION),
        )
        .order_by(FlowExecution.id)
        .with_for_update()
    )
    await session.execute(statement)


async def set_status(
    session: AsyncSession,
    message_id: int,
    *,
    from_statuses: Sequence[str],
    values: dict[str, Any],
) -> bool:
    """Move a message to new values if it is still in one of ``from_statuses``."""
    statement = (
        update(WhatsappMessage)
        .where(WhatsappMessage.id == message_id, WhatsappMessage.status.in_(from_statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def pending_executions(session: AsyncSession, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    """The executions with messages still queued or sending in the conversation."""
    statement = (
        select(WhatsappMessage.execution_id)
        .where(
            WhatsappMessage.conversation_id == conversation_id,
            WhatsappMessage.status.in_(PENDING),
            WhatsappMessage.execution_id.is_not(None),
        )
        .distinct()
    )
    return [row for row in (await session.execute(statement)).scalars() if row is not None]


async def fail_pending(
    session: AsyncSession, conversation_id: uuid.UUID, error: dict[str, Any]
) -> None:
    """Fail every queued message of a conversation whose delivery job gave up."""
    await session.execute(
        update(WhatsappMessage)
        .where(
            WhatsappMessage.conversation_id == conversation_id,
            WhatsappMessage.status == "queued",
        )
        .values(status="failed", last_error=error)
        .execution_options(synchronize_session=False)
    )


async def cancel_pending(session: AsyncSession, execution_id: uuid.UUID, now: datetime) -> None:
    """Cancel every queued message of an execution that has failed."""
    await session.execute(
        update(WhatsappMessage)
        .where(WhatsappMessage.execution_id == execution_id, WhatsappMessage.status == "queued")
        .values(status="cancelled", sent_at=None, attempted_at=now)
        .execution_options(synchronize_session=False)
    )


async def load_message(session: AsyncSession, message_id: int) -> WhatsappMessage | None:
    """A message by id, fresh from the database."""
    statement = (
        select(WhatsappMessage)
        .where(WhatsappMessage.id == message_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_message(session: AsyncSession, message_id: int) -> WhatsappMessage | None:
    """A message by id, row-locked and fresh."""
    statement = (
        select(WhatsappMessage)
        .where(WhatsappMessage.id == message_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def requeue_unknown(session: AsyncSession, message: WhatsappMessage, now: datetime) -> bool:
    """Put a message of unknown outcome back in line, once (``resent_at``)."""
    values = {"status": "queued", "resent_at": now, "updated_at": now}
    moved = await set_status(session, message.id, from_statuses=("unknown",), values=values)
    if moved:
        for key, value in values.items():
            setattr(message, key, value)
    return moved


def event_row(
    message: WhatsappMessage, kind: str, data: dict[str, Any], at: datetime | None = None
) -> dict[str, Any]:
    """The event-log row of ``kind`` for ``message`` (``at`` defaults to its last update)."""
    return {
        "project_id": message.project_id,
        "execution_id": message.execution_id,
        "kind": kind,
        "node_id": message.node_id,
        "at": at or message.updated_at or message.created_at,
        "duration_ms": None,
        "data": {"message_id": message.id, **data},
    }


async def add_event_for(
    session: AsyncSession,
    message: WhatsappMessage,
    kind: str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> None:
    """Log ``kind`` on the execution that sent ``message`` (none: its row is its record).

    ``at`` defaults to the message's last update.
    """
    if message.execution_id is not None:
        await add_event(session, event_row(message, kind, data, at))


# Delivery statuses (``statuses``) and the settling of unknown outcomes (``settle``).


async def add_status_event(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Store one (config, wamid, status) once; False if it was already stored."""
    return await insert_ignoring_conflict(
        session,
        MessageStatusEvent,
        values,
        conflict_on=("whatsapp_config_id", "wamid", "status"),
    )


async def unapplied_status_events(
    session: AsyncSession, config_id: uuid.UUID, wamid: str
) -> list[MessageStatusEvent]:
    """The statuses of a wamid stored before its message was known."""
    statement = select(MessageStatusEvent).where(
        MessageStatusEvent.whatsapp_config_id == config_id,
        MessageStatusEvent.wamid == wamid,
        MessageStatusEvent.applied_at.is_(None),
    )
    return list((await session.execute(statement)).scalars())


async def with_unapplied_statuses(
    session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, str]]
) -> set[tuple[uuid.UUID, str]]:
    """Which (config, wamid) pairs have statuses stored before their message was known."""
    if not pairs:
        return set()
    statement = (
        select(MessageStatusEvent.whatsapp_config_id, MessageStatusEvent.wamid)
        .where(
            tuple_(MessageStatusEvent.whatsapp_config_id, MessageStatusEvent.wamid).in_(pairs),
            MessageStatusEvent.applied_at.is_(None),
        )
        .distinct()
    )
    return {(config, wamid) for config, wamid in await session.execute(statement)}


async def mark_status_applied(
    session: AsyncSession, config_id: uuid.UUID, wamid: str, status: str, now: datetime
) -> None:
    """Note that a stored status reached its message."""
    await session.execute(
        update(MessageStatusEvent)
        .where(
            MessageStatusEvent.whatsapp_config_id == config_id,
            MessageStatusEvent.wamid == wamid,
            MessageStatusEvent.status == status,
        )
        .values(applied_at=now)
        .execution_options(synchronize_session=False)
    )


async def lock_by_wamid(
    session: AsyncSession, config_id: uuid.UUID, wamid: str
) -> WhatsappMessage | None:
    """The number's message with that wamid, row-locked."""
    statement = select(WhatsappMessage).where(
        WhatsappMessage.whatsapp_config_id == config_id, WhatsappMessage.wamid == wamid
    )
    return (await session.execute(statement.with_for_update())).scalar_one_or_none()


async def lock_outbound(
    session: AsyncSession, config_id: uuid.UUID, message_id: int
) -> WhatsappMessage | None:
    """An outbound message of the number by id, row-locked."""
    statement = select(WhatsappMessage).where(
        WhatsappMessage.id == message_id,
        WhatsappMessage.whatsapp_config_id == config_id,
        WhatsappMessage.direction == "outbound",
    )
    return (await session.execute(statement.with_for_update())).scalar_one_or_none()


async def update_message(session: AsyncSession, message_id: int, values: dict[str, Any]) -> None:
    """Write ``values`` on a message row."""
    await session.execute(
        update(WhatsappMessage)
        .where(WhatsappMessage.id == message_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )


async def owner_of(
    session: AsyncSession,
    config_ids: Sequence[uuid.UUID],
    *,
    wamid: str | None = None,
    message_id: int | None = None,
) -> uuid.UUID | None:
    """Which of ``config_ids`` holds the message with that wamid (or that id)."""
    statement = select(WhatsappMessage.whatsapp_config_id).where(
        WhatsappMessage.whatsapp_config_id.in_(config_ids)
    )
    if wamid is not None:
        statement = statement.where(WhatsappMessage.wamid == wamid)
    if message_id is not None:
        statement = statement.where(WhatsappMessage.id == message_id)
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def later_statuses_exist(session: AsyncSession, message: WhatsappMessage) -> bool:
    """Whether Meta reported a status for a later outbound message to the same number."""
    later = (
        select(MessageStatusEvent.id)
        .join(
            WhatsappMessage,
            (WhatsappMessage.whatsapp_config_id == MessageStatusEvent.whatsapp_config_id)
            & (WhatsappMessage.wamid == MessageStatusEvent.wamid),
        )
        .where(
            WhatsappMessage.whatsapp_config_id == message.whatsapp_config_id,
            WhatsappMessage.phone_number == message.phone_number,
            WhatsappMessage.direction == "outbound",
            WhatsappMessage.id > message.id,
        )
    )
    return bool((await session.execute(select(exists(later)))).scalar_one())
