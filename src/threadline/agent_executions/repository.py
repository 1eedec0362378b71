"""The SQL of agent executions (rows of ``flow_executions`` of kind ``agent``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agent_executions.schemas import AgentExecutionFilters, AgentExecutionStatus
from threadline.executions import repository as executions
from threadline.kit.listing import fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import AgentSnapshot, FlowExecution

_E = FlowExecution
KIND = "agent"
LIVE = ("running", "waiting")


def status_conditions(status: AgentExecutionStatus) -> list[ColumnElement[bool]]:
    """Rows an API status names (``paused`` and ``handoff`` are waits of the runtime)."""
    if status == "paused":
        return [_E.status == "waiting", _E.wait_reason == "user_input"]
    if status == "handoff":
        return [_E.status == "waiting", _E.wait_reason == "handoff"]
    if status == "started":
        return [_E.status == "running", _E.step_seq == 0]
    return [_E.status == status]


def _filters(filters: AgentExecutionFilters) -> list[ColumnElement[bool]]:
    found = [] if filters.status is None else status_conditions(filters.status)
    bounds: list[tuple[Any, datetime | None, bool]] = [
        (_E.started_at, filters.started_at_gteq, True),
        (_E.started_at, filters.started_at_lteq, False),
        (_E.ended_at, filters.ended_at_gteq, True),
        (_E.ended_at, filters.ended_at_lteq, False),
    ]
    for column, moment, lower in bounds:
        if moment is not None:
            found.append(column >= moment if lower else column <= moment)
    return found


def _of_project(project_id: uuid.UUID) -> Select[FlowExecution]:
    return select(_E).where(_E.project_id == project_id, _E.kind == KIND)


#: An agent's own executions (not its test chats'), for the compare-and-set of a resume.
_COLUMNS = cast(Table, FlowExecution.__table__).c
_OF_THE_AGENT = executions.ClaimScope(
    "agent",
    (
        _COLUMNS.kind == KIND,
        _COLUMNS.agent_id == bindparam("b_agent_id"),
        _COLUMNS.test.is_(False),
    ),
)


async def claim_paused(
    session: AsyncSession,
    project_id: uuid.UUID,
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    *,
    reasons: Sequence[str],
    now: datetime,
) -> FlowExecution | None:
    """The flows' compare-and-set, on the agent's execution (not a test chat's) only."""
    return await executions.claim_waiting(
        session,
        execution_id,
        reasons=reasons,
        now=now,
        project_id=project_id,
        scope=_OF_THE_AGENT,
        scope_params={"b_agent_id": agent_id},
    )


async def get(
    session: AsyncSession, project_id: uuid.UUID, agent_id: uuid.UUID, execution_id: uuid.UUID
) -> FlowExecution | None:
    """The agent's execution (not a test chat's), freshly read, or None."""
    statement = (
        _of_project(project_id)
        .where(_E.id == execution_id, _E.agent_id == agent_id, _E.test.is_(False))
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for_agent(
    session: AsyncSession,
    project_id: uuid.UUID,
    agent_id: uuid.UUID,
    filters: AgentExecutionFilters,
    page: PageParams,
) -> tuple[list[FlowExecution], int]:
    """A page of the agent's executions, newest first, and how many match."""
    statement = (
        _of_project(project_id)
        .where(_E.agent_id == agent_id, _E.test.is_(False), *_filters(filters))
        .order_by(_E.started_at.desc(), _E.id)
    )
    return await fetch_page(session, statement, page)


async def list_for_conversation(
    session: AsyncSession, project_id: uuid.UUID, conversation_id: uuid.UUID, page: PageParams
) -> tuple[list[FlowExecution], int]:
    """A page of a conversation's agent executions, newest first."""
    statement = (
        _of_project(project_id)
        .where(_E.conversation_id == conversation_id)
        .order_by(_E.started_at.desc(), _E.id)
    )
    return await fetch_page(session, statement, page)


async def get_in_conversation(
    session: AsyncSession,
    project_id: uuid.UUID,
    conversation_id: uuid.UUID,
    execution_id: uuid.UUID,
) -> FlowExecution | None:
    """One of the conversation's agent executions, or None."""
    statement = _of_project(project_id).where(
        _E.conversation_id == conversation_id, _E.id == execution_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def finish(
    session: AsyncSession, execution_id: uuid.UUID, status: str, now: datetime
) -> FlowExecution | None:
    """Compare-and-set a live execution to a final ``status``; the row if this caller won."""
    statement = (
        update(_E)
        .where(_E.id == execution_id, _E.status.in_(LIVE))
        .values(
            status=status,
            step_seq=_E.step_seq + 1,
            wait_reason=None,
            wait_until=None,
            ended_at=now,
            last_event_at=now,
        )
        .returning(_E)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def switch_wait(
    session: AsyncSession,
    execution_id: uuid.UUID,
    *,
    from_reason: str,
    to_reason: str,
    now: datetime,
) -> FlowExecution | None:
    """Compare-and-set one wait to another (paused ↔ handoff); the row if this caller won."""
    statement = (
        update(_E)
        .where(_E.id == execution_id, _E.status == "waiting", _E.wait_reason == from_reason)
        .values(wait_reason=to_reason, step_seq=_E.step_seq + 1, wait_until=None, last_event_at=now)
        .returning(_E)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def latest_snapshot(session: AsyncSession, agent_id: uuid.UUID) -> AgentSnapshot | None:
    """The agent's newest snapshot, or None."""
    statement = (
        select(AgentSnapshot)
        .where(AgentSnapshot.agent_id == agent_id)
        .order_by(AgentSnapshot.created_at.desc(), AgentSnapshot.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
