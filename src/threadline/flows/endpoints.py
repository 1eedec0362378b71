"""HTTP routes for flows."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.flows import presenters, service
from threadline.flows.schemas import (
    FlowCreate,
    FlowOut,
    FlowStatus,
    FlowUpdate,
    FlowWithDefinitionOut,
)
from threadline.kit.schemas import Envelope
from threadline.whatsapp_configs.service import list_for as list_whatsapp_configs

router = APIRouter(tags=["Flows"])


@router.get("/flows", response_model=Envelope[list[FlowOut]])
async def list_flows(
    session: DbSession,
    project: CurrentProject,
    status: Annotated[FlowStatus | None, Query(alias="q[status_eq]")] = None,
) -> Envelope[list[FlowOut]]:
    """The project's flows."""
    flows = await service.list_flows(session, project, status=status)
    stats = await service.stats(session, flows)
    return Envelope(data=[presenters.flow_out(flow, stats[flow.id]) for flow in flows])


@router.post("/flows", status_code=201, response_model=Envelope[FlowOut])
async def create_flow(
    body: FlowCreate, session: DbSession, project: CurrentProject
) -> Envelope[FlowOut]:
    """Create a flow, optionally with a definition."""
    flow = await service.create(session, project, body.flow)
    return Envelope(data=presenters.flow_out(flow, service.FlowStats()))


@router.get("/flows/{flow_id}", response_model=Envelope[FlowOut])
async def get_flow(
    flow_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[FlowOut]:
    """One flow."""
    flow = await service.get(session, project, flow_id)
    stats = await service.stats(session, [flow])
    return Envelope(data=presenters.flow_out(flow, stats[flow.id]))


@router.patch("/flows/{flow_id}", response_model=Envelope[FlowOut])
async def update_flow(
    flow_id: uuid.UUID, body: FlowUpdate, session: DbSession, project: CurrentProject
) -> Envelope[FlowOut]:
    """Edit a flow: name, description, status, or a new definition version."""
    flow = await service.update(session, project, flow_id, body.flow)
    stats = await service.stats(session, [flow])
    return Envelope(data=presenters.flow_out(flow, stats[flow.id]))


@router.get("/flows/{flow_id}/definition", response_model=Envelope[FlowWithDefinitionOut])
async def get_flow_definition(
    flow_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[FlowWithDefinitionOut]:
    """A flow with its current definition."""
    flow = await service.get(session, project, flow_id)
    stats = await service.stats(session, [flow])
    version = await service.current_version(session, flow)
    configs = await list_whatsapp_configs(session, project)
    out = presenters.flow_with_definition_out(flow, stats[flow.id], version, configs)
    return Envelope(data=out)
