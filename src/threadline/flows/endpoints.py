"""HTTP routes for flows."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.flows import examples, service, views
from threadline.flows.schemas import (
    FlowCreate,
    FlowOut,
    FlowStatus,
    FlowUpdate,
    FlowWithDefinitionOut,
)
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams

router = APIRouter(tags=["Flows"])


@router.get("/flows", response_model=Page[FlowOut])
async def list_flows(
    session: DbSession,
    project: CurrentProject,
    status: Annotated[FlowStatus | None, Query(alias="q[status_eq]")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[FlowOut]:
    """The project's flows, newest first."""
    params = PageParams(page=page, per_page=per_page)
    flows, total = await service.list_flows(session, project, status=status, page=params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=views.describe(flows), meta=meta)


@router.post(
    "/flows",
    status_code=201,
    response_model=Envelope[FlowOut],
    responses=examples.CREATE_RESPONSES,
)
async def create_flow(
    body: Annotated[FlowCreate, Body(openapi_examples=examples.CREATE_BODY)],
    session: DbSession,
    project: CurrentProject,
) -> Envelope[FlowOut]:
    """Create a flow, optionally with a definition."""
    flow = await service.create(session, project, body.flow)
    return Envelope(data=views.describe_one(flow))


@router.get("/flows/{flow_id}", response_model=Envelope[FlowOut])
async def get_flow(
    flow_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[FlowOut]:
    """One flow."""
    flow = await service.get(session, project, flow_id)
    return Envelope(data=views.describe_one(flow))


@router.patch("/flows/{flow_id}", response_model=Envelope[FlowOut])
async def update_flow(
    flow_id: uuid.UUID, body: FlowUpdate, session: DbSession, project: CurrentProject
) -> Envelope[FlowOut]:
    """Edit a flow: name, description, status, or a new definition version."""
    flow = await service.update(session, project, flow_id, body.flow)
    return Envelope(data=views.describe_one(flow))


@router.get("/flows/{flow_id}/definition", response_model=Envelope[FlowWithDefinitionOut])
async def get_flow_definition(
    flow_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[FlowWithDefinitionOut]:
    """A flow with its current definition."""
    flow = await service.get(session, project, flow_id)
    return Envelope(data=await views.with_definition(session, project, flow))
