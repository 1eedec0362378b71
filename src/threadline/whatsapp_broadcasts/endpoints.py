"""HTTP routes for WhatsApp broadcasts: drafts, recipients in batches, and the send."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.kit.clock import utcnow
from threadline.kit.listing import PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.models import WhatsappBroadcast
from threadline.whatsapp_broadcasts import presenters, repository, service
from threadline.whatsapp_broadcasts.repository import BroadcastFilters
from threadline.whatsapp_broadcasts.schemas import (
    BatchOut,
    BroadcastCreate,
    BroadcastOut,
    RecipientOut,
    RecipientsAdd,
    SendOut,
)

router = APIRouter(tags=["WhatsApp Broadcasts"])
_BASE = "/whatsapp_broadcasts"


async def _present(
    session: AsyncSession, rows: list[WhatsappBroadcast], default_rate: float
) -> list[BroadcastOut]:
    counts = await service.counts_of(session, rows)
    templates = await repository.templates(session, [row.whatsapp_template_id for row in rows])
    return [
        presenters.broadcast(
            row,
            templates[row.whatsapp_template_id],
            counts.get(row.id, repository.Counts()),
            default_rate,
        )
        for row in rows
    ]


@router.get(_BASE, response_model=Page[BroadcastOut])
async def list_broadcasts(
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    page: PageQuery,
    config_id: Annotated[uuid.UUID | None, Query(alias="q[whatsapp_config_id_eq]")] = None,
    template_id: Annotated[uuid.UUID | None, Query(alias="q[whatsapp_template_id_eq]")] = None,
) -> Page[BroadcastOut]:
    """The project's broadcasts, most recent first, with their counts."""
    filters = BroadcastFilters(config_id, template_id)
    rows, total = await service.list_page(session, project, filters, page)
    rate = resources.settings.broadcast_rate_per_second
    return page_of(await _present(session, rows, rate), page, total)


@router.post(_BASE, status_code=201, response_model=Envelope[BroadcastOut])
async def create_broadcast(
    body: BroadcastCreate, session: DbSession, project: CurrentProject, resources: AppResources
) -> Envelope[BroadcastOut]:
    """A draft broadcast of an approved template on a config of its business account."""
    row = await service.create(session, project, body.whatsapp_broadcast, utcnow())
    rate = resources.settings.broadcast_rate_per_second
    return Envelope(data=(await _present(session, [row], rate))[0])


@router.get(_BASE + "/{broadcast_id}", response_model=Envelope[BroadcastOut])
async def get_broadcast(
    broadcast_id: uuid.UUID, session: DbSession, project: CurrentProject, resources: AppResources
) -> Envelope[BroadcastOut]:
    """A broadcast's progress: its status and counts."""
    row = await service.get(session, project, broadcast_id)
    rate = resources.settings.broadcast_rate_per_second
    return Envelope(data=(await _present(session, [row], rate))[0])


@router.get(_BASE + "/{broadcast_id}/recipients", response_model=Page[RecipientOut])
async def list_recipients(
    broadcast_id: uuid.UUID, session: DbSession, project: CurrentProject, page: PageQuery
) -> Page[RecipientOut]:
    """A broadcast's recipients in the order they were added, each as its message stands."""
    row = await service.get(session, project, broadcast_id)
    rows, total = await repository.recipients_page(session, row.id, page)
    return page_of([presenters.recipient(r, m) for r, m in rows], page, total)


@router.post(
    _BASE + "/{broadcast_id}/recipients", status_code=201, response_model=Envelope[BatchOut]
)
async def add_recipients(
    broadcast_id: uuid.UUID,
    body: RecipientsAdd,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[BatchOut]:
    """Add up to 1,000 recipients to a draft; a batch with any problem adds nothing."""
    most = resources.settings.broadcast_max_recipients
    added = await service.add_recipients(
        session, project, broadcast_id, body.recipients, utcnow(), most=most
    )
    return Envelope(data=BatchOut(added=added.added, duplicates=added.duplicates, errors=[]))


@router.post(_BASE + "/{broadcast_id}/send", status_code=202, response_model=Envelope[SendOut])
async def send_broadcast(
    broadcast_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[SendOut]:
    """Start sending a draft with recipients; poll ``GET`` for its progress."""
    row = await service.start(session, project, broadcast_id, utcnow())
    assert row.started_at is not None
    return Envelope(data=SendOut(id=row.id, status=row.status, started_at=row.started_at))
