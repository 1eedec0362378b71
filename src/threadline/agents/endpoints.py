"""HTTP routes of agents, their graphs, snapshots and WhatsApp numbers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from threadline.agents import authoring, presenters, service
from threadline.agents.repository import AgentFilters
from threadline.agents.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    AgentWhatsappConfigCreate,
    AgentWhatsappConfigOut,
    AgentWhatsappConfigUpdate,
    AgentWithGraphOut,
    SnapshotCreate,
    SnapshotOut,
)
from threadline.auth.dependencies import AppResources, CurrentProject, DbSession, OutsideProject
from threadline.kit.clock import utcnow
from threadline.kit.listing import CreatedQuery, PageQuery, page_of
from threadline.kit.schemas import Envelope, Page

router = APIRouter(tags=["Agents"])
_ONE = "/agents/{agent_id}"
_CONFIGS = _ONE + "/agent_whatsapp_configs"


@router.get("/agents", response_model=Page[AgentOut])
async def list_agents(
    session: DbSession,
    project: CurrentProject,
    page: PageQuery,
    created: CreatedQuery,
    name: Annotated[str | None, Query(alias="q[name_cont]", max_length=200)] = None,
) -> Page[AgentOut]:
    """The project's agents, newest first."""
    rows, total = await service.list_page(session, project, AgentFilters(name, created), page)
    return page_of([presenters.agent(row) for row in rows], page, total)


@router.post("/agents", status_code=201, response_model=Envelope[AgentOut])
async def create_agent(
    body: AgentCreate, project: OutsideProject, resources: AppResources
) -> Envelope[AgentOut]:
    """Create an agent, with its graph if sent (every problem of a graph in one 422)."""
    row = await authoring.create(resources, project, body.agent)
    return Envelope(data=presenters.agent(row))


@router.get(_ONE, response_model=Envelope[AgentOut])
async def get_agent(
    agent_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[AgentOut]:
    """One agent."""
    return Envelope(data=presenters.agent(await service.get(session, project, agent_id)))


@router.patch(_ONE, response_model=Envelope[AgentOut])
async def update_agent(
    agent_id: uuid.UUID, body: AgentUpdate, project: OutsideProject, resources: AppResources
) -> Envelope[AgentOut]:
    """Change an agent; a graph sent replaces its graph whole (snapshots keep theirs)."""
    row = await authoring.update(resources, project, agent_id, body.agent)
    return Envelope(data=presenters.agent(row))


@router.get(_ONE + "/graph", response_model=Envelope[AgentWithGraphOut])
async def get_agent_graph(
    agent_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[AgentWithGraphOut]:
    """An agent with its graph, exactly as it was last sent."""
    row = await service.get(session, project, agent_id)
    return Envelope(data=presenters.agent_with_graph(row))


@router.post(
    _ONE + "/agent_snapshots",
    status_code=201,
    response_model=Envelope[SnapshotOut],
    tags=["Agent Snapshots"],
)
async def create_snapshot(
    agent_id: uuid.UUID,
    project: OutsideProject,
    resources: AppResources,
    body: Annotated[SnapshotCreate | None, Body()] = None,
) -> Envelope[SnapshotOut]:
    """Freeze the agent as it is now, or with the graph sent instead."""
    graph = body.graph if body is not None else None
    row = await authoring.snapshot(resources, project, agent_id, graph)
    return Envelope(data=presenters.snapshot(row))


@router.get(
    "/agent_snapshots/{snapshot_id}",
    response_model=Envelope[SnapshotOut],
    tags=["Agent Snapshots"],
)
async def get_snapshot(
    snapshot_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[SnapshotOut]:
    """One snapshot: never changed by later edits of its agent."""
    row = await service.get_snapshot(session, project, snapshot_id)
    return Envelope(data=presenters.snapshot(row))


@router.get(_CONFIGS, response_model=Page[AgentWhatsappConfigOut], tags=["Agent WhatsApp Configs"])
async def list_agent_whatsapp_configs(
    agent_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    page: PageQuery,
) -> Page[AgentWhatsappConfigOut]:
    """The numbers the agent answers on, oldest first."""
    rows, total = await service.configs_page(session, project, agent_id, page)
    settings = resources.settings
    return page_of([presenters.whatsapp_config(*row, settings) for row in rows], page, total)


@router.post(
    _CONFIGS,
    status_code=201,
    response_model=Envelope[AgentWhatsappConfigOut],
    tags=["Agent WhatsApp Configs"],
)
async def create_agent_whatsapp_config(
    agent_id: uuid.UUID,
    body: AgentWhatsappConfigCreate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[AgentWhatsappConfigOut]:
    """Attach one of the project's numbers (a number serves one agent at a time)."""
    fields = body.agent_whatsapp_config
    row = await service.attach(session, project, agent_id, fields, utcnow())
    return Envelope(data=presenters.whatsapp_config(*row, resources.settings))


@router.get(
    _CONFIGS + "/{link_id}",
    response_model=Envelope[AgentWhatsappConfigOut],
    tags=["Agent WhatsApp Configs"],
)
async def get_agent_whatsapp_config(
    agent_id: uuid.UUID,
    link_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[AgentWhatsappConfigOut]:
    """One of the agent's numbers."""
    row = await service.get_config(session, project, agent_id, link_id)
    return Envelope(data=presenters.whatsapp_config(*row, resources.settings))


@router.put(
    _CONFIGS + "/{link_id}",
    response_model=Envelope[AgentWhatsappConfigOut],
    tags=["Agent WhatsApp Configs"],
)
async def update_agent_whatsapp_config(
    agent_id: uuid.UUID,
    link_id: uuid.UUID,
    body: AgentWhatsappConfigUpdate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[AgentWhatsappConfigOut]:
    """Make the number the agent's primary, or not."""
    fields = body.agent_whatsapp_config
    row = await service.update_config(session, project, (agent_id, link_id), fields, utcnow())
    return Envelope(data=presenters.whatsapp_config(*row, resources.settings))


@router.delete(_CONFIGS + "/{link_id}", status_code=204, tags=["Agent WhatsApp Configs"])
async def delete_agent_whatsapp_config(
    agent_id: uuid.UUID, link_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Response:
    """Detach the number from the agent."""
    await service.detach(session, project, agent_id, link_id)
    return Response(status_code=204)
