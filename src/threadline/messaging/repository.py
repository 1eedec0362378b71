"""SQL for the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import ExecutionEvent, FlowExecution, WhatsappMessage

PENDING = ("queued", "sending")


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows in one multi-row INSERT (Core, like the event log)."""
    await session.execute(insert(cast(Table, WhatsappMessage.__table__)), rows)


async def add_event(session: AsyncSession, row: dict[str, Any]) -> None:
    """Append a delivery event to the execution's event log."""
    await session.execute(insert(cast(Table, ExecutionEvent.__table__)), [row])


async def next_pending(session: AsyncSession, execution_id: uuid.UUID) -> WhatsappMessage | None:
    """The execution's oldest message not yet settled."""
    statement = (
        select(WhatsappMessage)
        .where(WhatsappMessage.execution_id == execution_id, WhatsappMessage.status.in_(PENDING))
        .order_by(WhatsappMessage.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_execution(session: AsyncSession, execution_id: uuid.UUID) -> None:
    """Wait for, then hold, the execution's row lock (the one every advancing step holds).

    On SQLite the statement is a plain read: the transaction already holds the write lock.
    """
    statement = select(FlowExecution.id).where(FlowExecution.id == execution_id).with_for_update()
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


async def cancel_pending(session: AsyncSession, execution_id: uuid.UUID, now: datetime) -> None:
    """Cancel every queued message of an execution that has failed."""
    await session.execute(
        update(WhatsappMessage)
        .where(WhatsappMessage.execution_id == execution_id, WhatsappMessage.status == "queued")
        .values(status="cancelled", sent_at=None, attempted_at=now)
        .execution_options(synchronize_session=False)
    )
