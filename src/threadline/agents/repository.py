"""The SQL of agents, their snapshots and their WhatsApp numbers, as named functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import CreatedRange, contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import Agent, AgentSnapshot, AgentWhatsappConfig, WhatsappConfig

_AWC = AgentWhatsappConfig


@dataclass(frozen=True)
class AgentFilters:
    """``q[name_cont]`` and ``q[created_at_gteq|lteq]``."""

    name_contains: str | None = None
    created: CreatedRange = field(default_factory=CreatedRange)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The SQL conditions these filters ask for."""
        found = self.created.conditions(Agent.created_at)
        if self.name_contains:
            found.append(contains(Agent.name, self.name_contains))
        return found


# Built once: every agent start reads its agent.
_GET = select(Agent).where(Agent.id == bindparam("agent_id"), Agent.project_id == bindparam("p"))
_GET_FOR_UPDATE = _GET.with_for_update().execution_options(populate_existing=True)


async def get(
    session: AsyncSession, project_id: uuid.UUID, agent_id: uuid.UUID, *, for_update: bool
) -> Agent | None:
    """The project's agent (row-locked if asked), or None."""
    statement = _GET_FOR_UPDATE if for_update else _GET
    params = {"agent_id": agent_id, "p": project_id}
    return (await session.execute(statement, params)).scalar_one_or_none()


async def list_page(
    session: AsyncSession, project_id: uuid.UUID, filters: AgentFilters, page: PageParams
) -> tuple[list[Agent], int]:
    """A page of the project's agents, newest first, and how many match."""
    statement = (
        select(Agent)
        .where(Agent.project_id == project_id, *filters.conditions())
        .order_by(Agent.created_at.desc(), Agent.id.desc())
    )
    return await fetch_page(session, statement, page)


async def config_ids_in(
    session: AsyncSession, project_id: uuid.UUID, config_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``config_ids`` are WhatsApp configs of the project."""
    if not config_ids:
        return set()
    statement = select(WhatsappConfig.id).where(
        WhatsappConfig.project_id == project_id, WhatsappConfig.id.in_(config_ids)
    )
    return set((await session.execute(statement)).scalars())


async def get_snapshot(
    session: AsyncSession, project_id: uuid.UUID, snapshot_id: uuid.UUID
) -> AgentSnapshot | None:
    """The project's snapshot, or None."""
    statement = select(AgentSnapshot).where(
        AgentSnapshot.id == snapshot_id, AgentSnapshot.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def configs_page(
    session: AsyncSession, agent_id: uuid.UUID, page: PageParams
) -> tuple[list[tuple[AgentWhatsappConfig, WhatsappConfig]], int]:
    """A page of an agent's numbers (oldest first) with their configs, and how many."""
    statement = (
        select(_AWC, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == _AWC.whatsapp_config_id)
        .where(_AWC.agent_id == agent_id)
        .order_by(_AWC.created_at, _AWC.id)
    )
    counted = select(func.count()).select_from(_AWC).where(_AWC.agent_id == agent_id)
    total = int(await session.scalar(counted) or 0)
    rows = await session.execute(statement.offset(page.offset).limit(page.per_page))
    return [(row[0], row[1]) for row in rows.all()], total


async def get_config(
    session: AsyncSession, agent_id: uuid.UUID, link_id: uuid.UUID
) -> tuple[AgentWhatsappConfig, WhatsappConfig] | None:
    """One of an agent's numbers with its config, or None."""
    statement = (
        select(_AWC, WhatsappConfig)
        .join(WhatsappConfig, WhatsappConfig.id == _AWC.whatsapp_config_id)
        .where(_AWC.agent_id == agent_id, _AWC.id == link_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row[0], row[1])


async def link_of_config(session: AsyncSession, config_id: uuid.UUID) -> AgentWhatsappConfig | None:
    """The agent attachment of a WhatsApp config, if it has one."""
    statement = select(_AWC).where(_AWC.whatsapp_config_id == config_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def links_of_agent(session: AsyncSession, agent_id: uuid.UUID) -> list[AgentWhatsappConfig]:
    """An agent's attachments, oldest first."""
    statement = select(_AWC).where(_AWC.agent_id == agent_id).order_by(_AWC.created_at, _AWC.id)
    return list((await session.execute(statement)).scalars())


async def clear_primary(session: AsyncSession, agent_id: uuid.UUID, keep: uuid.UUID) -> None:
    """No attachment of the agent but ``keep`` is its primary any more."""
    await session.execute(
        update(_AWC)
        .where(_AWC.agent_id == agent_id, _AWC.id != keep, _AWC.is_primary.is_(True))
        .values(is_primary=False)
        .execution_options(synchronize_session="fetch")
    )


def add(session: AsyncSession, row: Agent | AgentSnapshot | AgentWhatsappConfig) -> None:
    """Stage a new row."""
    session.add(row)


async def delete(session: AsyncSession, row: AgentWhatsappConfig) -> None:
    """Remove an attachment."""
    await session.delete(row)
    await session.flush()


async def pin_snapshot(
    session: AsyncSession, agent_id: uuid.UUID, snapshot_id: uuid.UUID, seen: datetime
) -> bool:
    """Pin the snapshot on the agent if no update (which moves ``updated_at``) came after
    ``seen`` and none is pinned; whether it was. A compare-and-set: the start that pins
    did not lock the agent."""
    statement = (
        update(Agent)
        .where(Agent.id == agent_id, Agent.updated_at == seen, Agent.pinned_snapshot_id.is_(None))
        .values(pinned_snapshot_id=snapshot_id)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
