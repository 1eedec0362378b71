"""The SQL of WhatsApp calls and call permissions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.schemas import PageParams
from threadline.kit.sql import insert_or_lock
from threadline.models import WhatsappCall, WhatsappCallPermission, WhatsappConfig

#: A call with its number, as the API shows them together.
CallRow = tuple[WhatsappCall, WhatsappConfig]
PermissionRow = tuple[WhatsappCallPermission, WhatsappConfig]


@dataclass(frozen=True)
class CallFilters:
    """``GET /whatsapp_calls`` filters; ``since``/``until`` bound ``created_at``."""

    status: str | None = None
    direction: str | None = None
    whatsapp_config_id: uuid.UUID | None = None
    voice_agent_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    call_id: str | None = None


async def lock_call(session: AsyncSession, values: dict[str, Any]) -> WhatsappCall:
    """The number's call with ``values["call_id"]``, inserted if new, row-locked."""
    call: WhatsappCall = await insert_or_lock(
        session, WhatsappCall, values, key=("whatsapp_config_id", "call_id")
    )
    return call


async def lock_permission(session: AsyncSession, values: dict[str, Any]) -> WhatsappCallPermission:
    """The contact's permission for the number, inserted if new, row-locked."""
    permission: WhatsappCallPermission = await insert_or_lock(
        session,
        WhatsappCallPermission,
        values,
        key=("whatsapp_contact_id", "whatsapp_config_id"),
    )
    return permission


def _call_conditions(project_id: uuid.UUID, filters: CallFilters) -> list[ColumnElement[bool]]:
    conditions = [WhatsappCall.project_id == project_id]
    if filters.voice_agent_id is not None:
        conditions.append(WhatsappCall.id.is_(None))  # no call has a voice agent yet
    pairs = [
        (filters.status, WhatsappCall.status),
        (filters.direction, WhatsappCall.direction),
        (filters.whatsapp_config_id, WhatsappCall.whatsapp_config_id),
        (filters.call_id, WhatsappCall.call_id),
    ]
    conditions += [column == value for value, column in pairs if value is not None]
    if filters.since is not None:
        conditions.append(WhatsappCall.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(WhatsappCall.created_at <= filters.until)
    return conditions


async def page_calls(
    session: AsyncSession, project_id: uuid.UUID, filters: CallFilters, params: PageParams
) -> tuple[list[CallRow], int]:
    """One page of the project's calls, newest first, and how many match."""
    conditions = _call_conditions(project_id, filters)
    statement = (
        select(WhatsappCall, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == WhatsappCall.whatsapp_config_id)
        .where(*conditions)
        .order_by(WhatsappCall.created_at.desc(), WhatsappCall.id.desc())
        .offset(params.offset)
        .limit(params.per_page)
    )
    rows = [(call, config) for call, config in (await session.execute(statement)).all()]
    total = await session.execute(select(func.count()).select_from(WhatsappCall).where(*conditions))
    return rows, int(total.scalar_one())


async def get_call(
    session: AsyncSession, project_id: uuid.UUID, call_id: uuid.UUID
) -> CallRow | None:
    """The project's call with this id, with its number."""
    statement = (
        select(WhatsappCall, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == WhatsappCall.whatsapp_config_id)
        .where(WhatsappCall.project_id == project_id, WhatsappCall.id == call_id)
    )
    found = (await session.execute(statement)).first()
    return None if found is None else (found[0], found[1])


async def permissions_of(
    session: AsyncSession, contact_id: uuid.UUID, config_id: uuid.UUID | None = None
) -> Sequence[PermissionRow]:
    """The contact's permissions (for one number, with ``config_id``), with their numbers."""
    statement = (
        select(WhatsappCallPermission, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == WhatsappCallPermission.whatsapp_config_id)
        .where(WhatsappCallPermission.whatsapp_contact_id == contact_id)
        .order_by(WhatsappCallPermission.created_at)
    )
    if config_id is not None:
        statement = statement.where(WhatsappCallPermission.whatsapp_config_id == config_id)
    return [(permission, config) for permission, config in (await session.execute(statement)).all()]
