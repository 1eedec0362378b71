"""HTTP routes for agent executions, and a conversation's agent executions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from threadline.agent_executions import presenters, service
from threadline.agent_executions.schemas import (
    AgentExecutionCreate,
    AgentExecutionFilters,
    AgentExecutionOut,
    AgentExecutionStatus,
    AgentExecutionUpdate,
    AgentResumeIn,
    ConversationAgentExecutionOut,
)
from threadline.auth.dependencies import CurrentProject, DbSession, get_resources
from threadline.executions import presenters as event_presenters
from threadline.executions.schemas import EventOut
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams, as_utc
from threadline.models import FlowExecution

router = APIRouter(tags=["Agent Executions"])

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=100)]


def _filters(
    status: AgentExecutionStatus | None,
    started: tuple[datetime | None, datetime | None],
    ended: tuple[datetime | None, datetime | None],
) -> AgentExecutionFilters:
    return AgentExecutionFilters(
        status=status,
        started_at_gteq=as_utc("started_at_gteq", started[0]),
        started_at_lteq=as_utc("started_at_lteq", started[1]),
        ended_at_gteq=as_utc("ended_at_gteq", ended[0]),
        ended_at_lteq=as_utc("ended_at_lteq", ended[1]),
    )


def _page(
    rows: list[FlowExecution], page: int, per_page: int, total: int
) -> Page[AgentExecutionOut]:
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.execution_out(row) for row in rows], meta=meta)


@router.post(
    "/agents/{agent_id}/executions",
    status_code=202,
    response_model=Envelope[AgentExecutionOut],
)
async def start_agent_execution(
    agent_id: uuid.UUID,
    body: AgentExecutionCreate,
    request: Request,
    session: DbSession,
    project: CurrentProject,
) -> Envelope[AgentExecutionOut]:
    """Start the agent for a WhatsApp number (the first message optional)."""
    settings = get_resources(request).settings
    inactivity = timedelta(minutes=settings.conversation_inactivity_minutes)
    execution = await service.start(session, project, agent_id, body, inactivity=inactivity)
    return Envelope(data=presenters.execution_out(execution))


@router.get("/agents/{agent_id}/executions", response_model=Page[AgentExecutionOut])
async def list_agent_executions(
    agent_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    status: Annotated[AgentExecutionStatus | None, Query(alias="q[status_eq]")] = None,
    started_at_gteq: Annotated[datetime | None, Query(alias="q[started_at_gteq]")] = None,
    started_at_lteq: Annotated[datetime | None, Query(alias="q[started_at_lteq]")] = None,
    ended_at_gteq: Annotated[datetime | None, Query(alias="q[ended_at_gteq]")] = None,
    ended_at_lteq: Annotated[datetime | None, Query(alias="q[ended_at_lteq]")] = None,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> Page[AgentExecutionOut]:
    """The agent's executions, newest first."""
    filters = _filters(status, (started_at_gteq, started_at_lteq), (ended_at_gteq, ended_at_lteq))
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_for_agent(session, project, agent_id, filters, params)
    return _page(rows, page, per_page, total)


@router.get(
    "/agents/{agent_id}/executions/{execution_id}", response_model=Envelope[AgentExecutionOut]
)
async def get_agent_execution(
    agent_id: uuid.UUID, execution_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[AgentExecutionOut]:
    """One execution of the agent."""
    execution = await service.get(session, project, agent_id, execution_id)
    return Envelope(data=presenters.execution_out(execution))


@router.put(
    "/agents/{agent_id}/executions/{execution_id}", response_model=Envelope[AgentExecutionOut]
)
async def update_agent_execution(
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    body: AgentExecutionUpdate,
    session: DbSession,
    project: CurrentProject,
) -> Envelope[AgentExecutionOut]:
    """End, stop or fail an execution, or move it between paused and handoff."""
    status = body.agent_execution.status
    execution = await service.set_status(session, project, agent_id, execution_id, status)
    return Envelope(data=presenters.execution_out(execution))


@router.post(
    "/agents/{agent_id}/executions/{execution_id}/resume",
    response_model=Envelope[AgentExecutionOut],
)
async def resume_agent_execution(
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    body: AgentResumeIn | None = None,
) -> Envelope[AgentExecutionOut]:
    """Resume a paused execution with the user's message."""
    data = body or AgentResumeIn()
    execution = await service.resume(session, project, agent_id, execution_id, data)
    return Envelope(data=presenters.execution_out(execution))


@router.get("/agents/{agent_id}/executions/{execution_id}/events", response_model=Page[EventOut])
async def list_agent_execution_events(
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[EventOut]:
    """The execution's event log, oldest first: every model call, tool call and step."""
    params = PageParams.model_construct(page=page, per_page=per_page)
    rows, total = await service.events(session, project, agent_id, execution_id, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[event_presenters.event_out(e) for e in rows], meta=meta)


@router.get(
    "/whatsapp_conversations/{conversation_id}/agent_executions",
    response_model=Page[ConversationAgentExecutionOut],
)
async def list_conversation_executions(
    conversation_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> Page[ConversationAgentExecutionOut]:
    """The agent executions of a conversation, newest first."""
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_for_conversation(session, project, conversation_id, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.in_conversation_out(row) for row in rows], meta=meta)


@router.get(
    "/whatsapp_conversations/{conversation_id}/agent_executions/{execution_id}",
    response_model=Envelope[ConversationAgentExecutionOut],
)
async def get_conversation_execution(
    conversation_id: uuid.UUID, execution_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[ConversationAgentExecutionOut]:
    """One agent execution of a conversation."""
    execution = await service.get_in_conversation(session, project, conversation_id, execution_id)
    return Envelope(data=presenters.in_conversation_out(execution))
