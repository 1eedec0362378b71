"""Agents: the rules of storing them, freezing snapshots, and attaching WhatsApp numbers.

Graphs arrive here already validated (``agents.authoring`` checks them with no session
open, since MCP hosts are resolved); these functions work inside the caller's
transaction, flush, and never commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agents import repository
from threadline.agents.repository import AgentFilters
from threadline.agents.schemas import (
    AgentCreateFields,
    AgentFields,
    AgentWhatsappConfigFields,
    AgentWhatsappConfigUpdateFields,
)
from threadline.errors import NotFound, Unprocessable
from threadline.kit.schemas import PageParams
from threadline.models import Agent, AgentSnapshot, AgentWhatsappConfig, Project, WhatsappConfig
from threadline.whatsapp_configs import cache as config_cache
from threadline.whatsapp_configs.service import get_by_id as get_whatsapp_config

Linked = tuple[AgentWhatsappConfig, WhatsappConfig]


class AgentNotFound(NotFound):
    """The agent does not exist in this project."""

    error = "Agent not found"


class SnapshotNotFound(NotFound):
    """The agent snapshot does not exist in this project."""

    error = "Agent snapshot not found"


class AgentWhatsappConfigNotFound(NotFound):
    """The agent has no such WhatsApp configuration."""

    error = "Agent WhatsApp configuration not found"


def empty_graph() -> dict[str, Any]:
    """The graph of an agent created without one."""
    return {"nodes": [], "edges": []}


async def get(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, *, for_update: bool = False
) -> Agent:
    """An agent of ``project``; :class:`AgentNotFound` for any other."""
    agent = await repository.get(session, project.id, agent_id, for_update=for_update)
    if agent is None:
        raise AgentNotFound()
    return agent


async def known_config_ids(session: AsyncSession, project: Project, values: set[str]) -> set[str]:
    """Which of ``values`` name a WhatsApp config of ``project`` (as sent)."""
    ids = {value: _uuid(value) for value in values}
    found = await repository.config_ids_in(session, project.id, {i for i in ids.values() if i})
    return {value for value, parsed in ids.items() if parsed in found}


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def list_page(
    session: AsyncSession, project: Project, filters: AgentFilters, page: PageParams
) -> tuple[list[Agent], int]:
    """A page of the project's agents, newest first."""
    return await repository.list_page(session, project.id, filters, page)


async def create(
    session: AsyncSession, project: Project, fields: AgentCreateFields, now: datetime
) -> Agent:
    """A new agent (its graph, if any, validated by the caller)."""
    agent = Agent(
        id=uuid.uuid4(),
        project_id=project.id,
        name=fields.name,
        description=fields.description,
        system_prompt=fields.system_prompt,
        graph=fields.graph if fields.graph is not None else empty_graph(),
        agent_version=fields.agent_version or 1,
        message_debounce_seconds=fields.message_debounce_seconds,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, agent)
    await session.flush()
    return agent


async def update(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, fields: AgentFields, now: datetime
) -> Agent:
    """Change the fields sent; a graph replaces the stored one whole (snapshots keep theirs)."""
    agent = await get(session, project, agent_id, for_update=True)
    frozen = version_of(agent)
    sent = fields.model_fields_set
    if fields.name is not None:
        agent.name = fields.name
    for name in ("description", "system_prompt", "message_debounce_seconds"):
        if name in sent:
            setattr(agent, name, getattr(fields, name))
    if fields.agent_version is not None:
        agent.agent_version = fields.agent_version
    if fields.graph is not None:
        agent.graph = fields.graph
    if agent.pinned_snapshot_id is not None and version_of(agent) != frozen:
        agent.pinned_snapshot_id = None  # the next start freezes the agent anew
    agent.updated_at = now
    await session.flush()
    return agent


def version_of(row: Agent | AgentSnapshot) -> tuple[Any, ...]:
    """What a snapshot freezes of an agent: rows of equal versions run the same."""
    return (row.graph, row.system_prompt, row.agent_version, row.message_debounce_seconds)


async def snapshot(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    graph: dict[str, Any] | None,
    now: datetime,
) -> AgentSnapshot:
    """Freeze the agent as it is now (or with ``graph`` instead of its own); a freeze of
    the agent as it is becomes the version its new executions run."""
    agent = await get(session, project, agent_id, for_update=True)  # against an update
    row = AgentSnapshot(
        id=uuid.uuid4(),
        project_id=agent.project_id,
        agent_id=agent.id,
        name=f"{agent.name} Snapshot ({now:%Y-%m-%d %H:%M})",
        system_prompt=agent.system_prompt,
        graph=graph if graph is not None else agent.graph,
        agent_version=agent.agent_version,
        message_debounce_seconds=agent.message_debounce_seconds,
        created_at=now,
        updated_at=now,
    )
    if version_of(row) == version_of(agent):
        agent.pinned_snapshot_id = row.id
    repository.add(session, row)
    await session.flush()
    return row


async def get_snapshot(
    session: AsyncSession, project: Project, snapshot_id: uuid.UUID
) -> AgentSnapshot:
    """A snapshot of one of the project's agents; :class:`SnapshotNotFound` otherwise."""
    row = await repository.get_snapshot(session, project.id, snapshot_id)
    if row is None:
        raise SnapshotNotFound()
    return row


async def configs_page(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, page: PageParams
) -> tuple[list[Linked], int]:
    """A page of the numbers an agent answers on."""
    agent = await get(session, project, agent_id)
    return await repository.configs_page(session, agent.id, page)


async def get_config(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, link_id: uuid.UUID
) -> Linked:
    """One of an agent's numbers; 404 for another agent's or project's."""
    agent = await get(session, project, agent_id)
    found = await repository.get_config(session, agent.id, link_id)
    if found is None:
        raise AgentWhatsappConfigNotFound()
    return found


def _refused(message: str) -> Unprocessable:
    field = "agent_whatsapp_config.whatsapp_config_id"
    problem = {"field": field, "message": message}
    return Unprocessable(f"{field}: {message}", details=message, errors=[problem])


async def attach(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    fields: AgentWhatsappConfigFields,
    now: datetime,
) -> Linked:
    """Attach one of the project's numbers to the agent. A number serves one agent at a
    time; the agent's first number (or one sent ``is_primary``) becomes its primary."""
    agent = await get(session, project, agent_id, for_update=True)
    config = await get_whatsapp_config(session, project.id, fields.whatsapp_config_id)
    config_cache.changed(session)  # the number the agent sends from
    if config is None:
        raise _refused("no WhatsApp config with this id in this project")
    taken = await repository.link_of_config(session, config.id)
    if taken is not None:
        raise _refused(f"this number already answers for agent {taken.agent_id}")
    first = not await repository.links_of_agent(session, agent.id)
    link = AgentWhatsappConfig(
        id=uuid.uuid4(),
        project_id=agent.project_id,
        agent_id=agent.id,
        whatsapp_config_id=config.id,
        is_primary=first if fields.is_primary is None else fields.is_primary,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, link)
    await session.flush()
    await _one_primary(session, link)
    return link, config


async def update_config(
    session: AsyncSession,
    project: Project,
    ids: tuple[uuid.UUID, uuid.UUID],
    fields: AgentWhatsappConfigUpdateFields,
    now: datetime,
) -> Linked:
    """Make a number the agent's primary (the others stop being), or not."""
    await get(session, project, ids[0], for_update=True)
    link, config = await get_config(session, project, *ids)
    config_cache.changed(session)  # the number the agent sends from
    if fields.is_primary is not None:
        link.is_primary = fields.is_primary
    link.updated_at = now
    await session.flush()
    await _one_primary(session, link)
    return link, config


async def _one_primary(session: AsyncSession, link: AgentWhatsappConfig) -> None:
    if link.is_primary:
        await repository.clear_primary(session, link.agent_id, link.id)


async def detach(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, link_id: uuid.UUID
) -> None:
    """Detach a number; if it was the primary, the agent's oldest other number is now."""
    await get(session, project, agent_id, for_update=True)
    link, _ = await get_config(session, project, agent_id, link_id)
    config_cache.changed(session)  # the number the agent sends from
    await repository.delete(session, link)
    rest = await repository.links_of_agent(session, agent_id)
    if link.is_primary and rest:
        rest[0].is_primary = True
        await session.flush()
