"""The SQL of display name requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.schemas import PageParams
from threadline.models import WhatsappConfig, WhatsappDisplayNameRequest
from threadline.models.whatsapp_display_name_request import ACTIVE_STATUSES

_Row = WhatsappDisplayNameRequest


async def get(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID, request_id: uuid.UUID
) -> _Row | None:
    """The config's request ``request_id``, in the project only."""
    query = select(_Row).where(
        _Row.id == request_id, _Row.project_id == project_id, _Row.whatsapp_config_id == config_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def page(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[_Row], int]:
    """One page of the config's requests, newest first, and how many there are."""
    scope = (_Row.project_id == project_id, _Row.whatsapp_config_id == config_id)
    total = await session.scalar(select(func.count()).select_from(_Row).where(*scope))
    query = (
        select(_Row)
        .where(*scope)
        .order_by(_Row.created_at.desc(), _Row.id.desc())
        .offset(params.offset)
        .limit(params.per_page)
    )
    return (await session.execute(query)).scalars().all(), int(total or 0)


async def active_for(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID
) -> _Row | None:
    """The config's request still waiting on Meta, if any."""
    query = select(_Row).where(
        _Row.project_id == project_id,
        _Row.whatsapp_config_id == config_id,
        _Row.status.in_(ACTIVE_STATUSES),
    )
    return (await session.execute(query)).scalar_one_or_none()


async def last_approved_name(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID
) -> str | None:
    """The name of the config's latest approved request, if any."""
    query = (
        select(_Row.requested_display_name)
        .where(
            _Row.project_id == project_id,
            _Row.whatsapp_config_id == config_id,
            _Row.status.in_(("approved", "applied")),
        )
        .order_by(_Row.reviewed_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def awaiting_review(
    session: AsyncSession, project_id: uuid.UUID | None
) -> Sequence[tuple[_Row, WhatsappConfig]]:
    """Requests waiting on Meta with their configs (in ``project_id`` when given), locked."""
    query = (
        select(_Row, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == _Row.whatsapp_config_id)
        .where(_Row.status.in_(ACTIVE_STATUSES))
        .with_for_update(of=_Row)
    )
    if project_id is not None:
        query = query.where(_Row.project_id == project_id)
    return [(row, config) for row, config in (await session.execute(query)).all()]


async def with_config(
    session: AsyncSession, request_id: uuid.UUID
) -> tuple[_Row, WhatsappConfig] | None:
    """The request ``request_id`` and its config (for its job, which names it)."""
    query = (
        select(_Row, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == _Row.whatsapp_config_id)
        .where(_Row.id == request_id)
    )
    found = (await session.execute(query)).first()
    return None if found is None else (found[0], found[1])


async def lock(session: AsyncSession, request_id: uuid.UUID) -> _Row | None:
    """The request ``request_id``, locked for its update."""
    query = select(_Row).where(_Row.id == request_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()
