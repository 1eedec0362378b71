"""Saving a graph: validated with no session open, then stored in a transaction of its own.

Validation resolves the host of each MCP server (``kit.egress.url_refusal``), which is
external I/O: AGENTS.md forbids holding a session (on SQLite, the write lock) across it.
So these endpoints authenticate in a read session that ends at once (``OutsideProject``),
validate (the WhatsApp configs templates name are looked up in a short read session of
their own: another project's config is refused like any other problem, in the same 422),
and only then open their one write transaction. A refused graph changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from threadline.agents import service
from threadline.agents.schemas import AgentCreateFields, AgentFields
from threadline.agents.validation import GraphInvalid, graph_problems
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Agent, AgentSnapshot, Project

_FOREIGN = "no WhatsApp config with this id in this project"


async def _validated(
    resources: Resources, project: Project, graph: dict[str, Any] | None, where: str
) -> None:
    """Every problem of ``graph`` at once, the configs its templates name included."""
    if graph is None:
        return
    checker = await graph_problems(graph, resources.egress)
    if checker.config_ids:
        async with resources.db.read() as session:
            named = {value for _, _, value in checker.config_ids}
            known = await service.known_config_ids(session, project, named)
        for node, path, value in checker.config_ids:
            if value not in known:
                checker.add(node, path, _FOREIGN)
    if checker.problems:
        raise GraphInvalid(checker.problems, where=where)


async def create(resources: Resources, project: Project, fields: AgentCreateFields) -> Agent:
    """A new agent, its graph (if sent) validated first."""
    await _validated(resources, project, fields.graph, "agent.graph")
    async with resources.db.transaction() as session:
        return await service.create(session, project, fields, utcnow())


async def update(
    resources: Resources, project: Project, agent_id: uuid.UUID, fields: AgentFields
) -> Agent:
    """The agent with the fields sent; a graph sent is validated first (after a 404 check,
    so another project's agent is a 404 whatever the body)."""
    async with resources.db.read() as session:
        await service.get(session, project, agent_id)
    await _validated(resources, project, fields.graph, "agent.graph")
    async with resources.db.transaction() as session:
        return await service.update(session, project, agent_id, fields, utcnow())


async def snapshot(
    resources: Resources, project: Project, agent_id: uuid.UUID, graph: dict[str, Any] | None
) -> AgentSnapshot:
    """A snapshot of the agent as it is (or with ``graph``, validated first)."""
    async with resources.db.read() as session:
        await service.get(session, project, agent_id)
    await _validated(resources, project, graph, "graph")
    async with resources.db.transaction() as session:
        return await service.snapshot(session, project, agent_id, graph, utcnow())
