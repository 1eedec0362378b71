"""The SQL of broadcasts and their recipients, as named functions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.schemas import PageParams
from threadline.models import (
    WhatsappBroadcast,
    WhatsappBroadcastRecipient,
    WhatsappContact,
    WhatsappMessage,
    WhatsappTemplate,
)

_R, _M = WhatsappBroadcastRecipient, WhatsappMessage
SENT = ("sent", "delivered", "read", "played")
DELIVERED = ("delivered", "read", "played")
READ = ("read", "played")
UNSETTLED = ("queued", "sending")


@dataclass(frozen=True)
class BroadcastFilters:
    """``q[whatsapp_config_id_eq]`` and ``q[whatsapp_template_id_eq]``."""

    whatsapp_config_id: uuid.UUID | None = None
    whatsapp_template_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Counts:
    """A broadcast's recipients by where they stand."""

    total: int = 0
    sent: int = 0
    failed: int = 0
    delivered: int = 0
    read: int = 0
    responded: int = 0

    @property
    def pending(self) -> int:
        """Neither sent nor failed yet (not queued, or in the outbox)."""
        return self.total - self.sent - self.failed


async def get(
    session: AsyncSession, project_id: uuid.UUID, broadcast_id: uuid.UUID, *, for_update: bool
) -> WhatsappBroadcast | None:
    """The project's broadcast (locked if asked), or None."""
    statement = select(WhatsappBroadcast).where(
        WhatsappBroadcast.id == broadcast_id, WhatsappBroadcast.project_id == project_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def by_id(session: AsyncSession, broadcast_id: uuid.UUID) -> WhatsappBroadcast | None:
    """A broadcast by its id (the sender job's, which names it), fresh from the database."""
    statement = (
        select(WhatsappBroadcast)
        .where(WhatsappBroadcast.id == broadcast_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_page(
    session: AsyncSession, project_id: uuid.UUID, filters: BroadcastFilters, page: PageParams
) -> tuple[list[WhatsappBroadcast], int]:
    """A page of the project's broadcasts, newest first, and how many match."""
    conditions = [WhatsappBroadcast.project_id == project_id]
    if filters.whatsapp_config_id is not None:
        conditions.append(WhatsappBroadcast.whatsapp_config_id == filters.whatsapp_config_id)
    if filters.whatsapp_template_id is not None:
        conditions.append(WhatsappBroadcast.whatsapp_template_id == filters.whatsapp_template_id)
    total = await session.scalar(select(func.count()).where(*conditions))
    statement = (
        select(WhatsappBroadcast)
        .where(*conditions)
        .order_by(WhatsappBroadcast.created_at.desc(), WhatsappBroadcast.id.desc())
        .offset(page.offset)
        .limit(page.per_page)
    )
    return list((await session.execute(statement)).scalars()), int(total or 0)


async def templates(
    session: AsyncSession, template_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WhatsappTemplate]:
    """The templates of some broadcasts, by id."""
    statement = select(WhatsappTemplate).where(WhatsappTemplate.id.in_(set(template_ids)))
    return {t.id: t for t in (await session.execute(statement)).scalars()}


def _when(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def counts(
    session: AsyncSession, broadcast_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Counts]:
    """Every broadcast's counts, aggregated from its recipients and their messages (one
    query, on the recipients' ``(broadcast_id, position)`` index and the messages' key)."""
    gone = and_(_R.message_id.is_not(None), _M.id.is_(None))
    statement = (
        select(
            _R.broadcast_id,
            func.count(),
            _when(_M.status.in_(SENT)),
            _when(or_(_R.failed_at.is_not(None), _M.status == "failed", gone)),
            _when(_M.status.in_(DELIVERED)),
            _when(_M.status.in_(READ)),
            _when(_R.responded_at.is_not(None)),
        )
        .outerjoin(_M, _M.id == _R.message_id)
        .where(_R.broadcast_id.in_(list(broadcast_ids)))
        .group_by(_R.broadcast_id)
    )
    rows = (await session.execute(statement)).all()
    return {row[0]: Counts(*(int(value) for value in row[1:])) for row in rows}


async def unsettled(session: AsyncSession, broadcast_id: uuid.UUID) -> int:
    """Recipients not queued yet, or whose message is still in the outbox."""
    statement = (
        select(func.count())
        .select_from(_R)
        .outerjoin(_M, _M.id == _R.message_id)
        .where(
            _R.broadcast_id == broadcast_id,
            _R.failed_at.is_(None),
            or_(_R.queued_at.is_(None), _M.status.in_(UNSETTLED)),
        )
    )
    return int(await session.scalar(statement) or 0)


async def recipients_page(
    session: AsyncSession, broadcast_id: uuid.UUID, page: PageParams
) -> tuple[list[tuple[WhatsappBroadcastRecipient, WhatsappMessage | None]], int]:
    """A page of recipients in the order they were added, each with its message (or None)."""
    total = await session.scalar(
        select(func.count()).select_from(_R).where(_R.broadcast_id == broadcast_id)
    )
    statement = (
        select(_R, _M)
        .outerjoin(_M, _M.id == _R.message_id)
        .where(_R.broadcast_id == broadcast_id)
        .order_by(_R.position)
        .offset(page.offset)
        .limit(page.per_page)
    )
    found = (await session.execute(statement)).all()
    rows: list[tuple[WhatsappBroadcastRecipient, WhatsappMessage | None]] = [
        (row[0], row[1]) for row in found
    ]
    return rows, int(total or 0)


async def phones_present(
    session: AsyncSession, broadcast_id: uuid.UUID, phones: Sequence[str]
) -> set[str]:
    """Which of ``phones`` the broadcast already holds."""
    statement = select(_R.phone_number).where(
        _R.broadcast_id == broadcast_id, _R.phone_number.in_(list(phones))
    )
    return set((await session.execute(statement)).scalars())


async def contact_phones(
    session: AsyncSession, project_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The wa_ids of the project's contacts among ``contact_ids``."""
    statement = select(WhatsappContact.id, WhatsappContact.wa_id).where(
        WhatsappContact.project_id == project_id, WhatsappContact.id.in_(list(contact_ids))
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}


async def add_recipients(
    session: AsyncSession, broadcast: WhatsappBroadcast, rows: list[dict[str, Any]]
) -> None:
    """Insert recipients (positions following the broadcast's) and count them on it."""
    for offset, row in enumerate(rows):
        row["position"] = broadcast.total_recipients + offset
    if rows:
        await session.execute(insert(_R), rows)
    broadcast.total_recipients += len(rows)


async def next_unqueued(
    session: AsyncSession, broadcast_id: uuid.UUID, limit: int
) -> list[WhatsappBroadcastRecipient]:
    """The next ``limit`` recipients not queued yet, in order, locked (skipping locked ones)."""
    statement = (
        select(_R)
        .where(_R.broadcast_id == broadcast_id, _R.queued_at.is_(None))
        .order_by(_R.position)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())


async def mark_queued(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Record each recipient's message (or failure), only if it was not queued yet: one
    executemany per shape of row, in the caller's transaction."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in values:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for keys, rows in shapes.items():
        columns = [key for key in keys if key != "id"]
        statement = (
            update(_R)
            .where(_R.id == bindparam("b_id"), _R.queued_at.is_(None))
            .values({key: bindparam(f"b_{key}") for key in columns})
            .execution_options(synchronize_session=False)
        )
        params = [{f"b_{key}": row[key] for key in keys} for row in rows]
        await (await session.connection()).execute(statement, params)


async def record_reply(
    session: AsyncSession, config_id: uuid.UUID, wa_id: str, now: datetime
) -> int:
    """A number wrote to the config: the recipients it had not answered yet responded."""
    statement = (
        update(_R)
        .where(
            _R.whatsapp_config_id == config_id,
            _R.phone_number == wa_id,
            _R.queued_at.is_not(None),
            _R.queued_at <= now,
            _R.responded_at.is_(None),
        )
        .values(responded_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def record_throttle(session: AsyncSession, config_id: uuid.UUID, now: datetime) -> int:
    """The Graph API throttled a send of the config: its sending broadcasts slow down."""
    statement = (
        update(WhatsappBroadcast)
        .where(
            WhatsappBroadcast.whatsapp_config_id == config_id,
            WhatsappBroadcast.status == "sending",
        )
        .values(throttled_at=now, throttle_count=WhatsappBroadcast.throttle_count + 1)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]
