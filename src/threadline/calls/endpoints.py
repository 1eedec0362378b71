"""HTTP routes for WhatsApp calls and contacts' call permissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.calls import presenters, service
from threadline.calls.repository import CallFilters
from threadline.calls.schemas import CallOut, CallPermissionOut
from threadline.kit.clock import utcnow
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams, as_utc

router = APIRouter(tags=["WhatsApp Calls"])
Period = Literal["today", "week", "month", "custom"]


@router.get("/whatsapp_calls", response_model=Page[CallOut])
async def list_calls(
    session: DbSession,
    project: CurrentProject,
    status: str | None = None,
    direction: Literal["inbound", "outbound"] | None = None,
    voice_agent_id: uuid.UUID | None = None,
    whatsapp_config_id: uuid.UUID | None = None,
    period: Period | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[CallOut]:
    """The project's calls, newest first."""
    start, end = as_utc("start_date", start_date), as_utc("end_date", end_date)
    since, until = service.period_bounds(period, start, end, utcnow())
    filters = CallFilters(status, direction, whatsapp_config_id, voice_agent_id, since, until)
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_calls(session, project, filters, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.present_call(row) for row in rows], meta=meta)


@router.get("/whatsapp_calls/{call_id}", response_model=Envelope[CallOut])
async def get_call(
    call_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[CallOut]:
    """One call."""
    return Envelope(data=presenters.present_call(await service.get_call(session, project, call_id)))


@router.get(
    "/whatsapp_contacts/{identifier}/call_permissions",
    response_model=Envelope[list[CallPermissionOut]],
    tags=["WhatsApp Contact Call Permissions"],
)
async def list_call_permissions(
    identifier: str, session: DbSession, project: CurrentProject
) -> Envelope[list[CallPermissionOut]]:
    """The contact's call permissions, one per number it answered."""
    rows = await service.permissions(session, project, identifier)
    now = utcnow()
    return Envelope(data=[presenters.present_permission(row, now) for row in rows])


@router.get(
    "/whatsapp_contacts/{identifier}/call_permissions/{whatsapp_config_id}",
    response_model=Envelope[CallPermissionOut],
    tags=["WhatsApp Contact Call Permissions"],
)
async def get_call_permission(
    identifier: str, whatsapp_config_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[CallPermissionOut]:
    """The contact's call permission for one number."""
    row = await service.permission(session, project, identifier, whatsapp_config_id)
    return Envelope(data=presenters.present_permission(row, utcnow()))
