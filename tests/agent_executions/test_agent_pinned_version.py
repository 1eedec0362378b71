"""The version a new agent execution runs: the newest snapshot equal to the agent as it is.

A start reuses the pinned snapshot while the agent is unchanged, freezes a new one once
the agent changed in what a snapshot holds (graph, prompt, runtime version, debounce),
and never pins a version that an update committed meanwhile has replaced.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from agent_builders import create_agent, start_agent
from agent_graphs import edge, graph, node, simple_graph
from builders import TestProject, create_project
from threadline.agent_executions import service as agent_executions
from threadline.engine.agent.graph import END, START
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import AgentSnapshot, FlowExecution, Project

API = "/api/v1/agents"


def _other_graph() -> dict[str, Any]:
    return graph([node("help", prompt="Help the user")], [edge(START, "help"), edge("help", END)])


async def _runs(resources: Resources, execution: dict[str, Any]) -> uuid.UUID:
    async with resources.db.session() as session:
        row = await session.get(FlowExecution, uuid.UUID(execution["id"]))
        assert row is not None and row.agent_snapshot_id is not None
        return row.agent_snapshot_id


async def _snapshot(resources: Resources, snapshot_id: uuid.UUID) -> AgentSnapshot:
    async with resources.db.session() as session:
        row = await session.get(AgentSnapshot, snapshot_id)
        assert row is not None
        return row


async def _snapshot_count(resources: Resources) -> int:
    async with resources.db.session() as session:
        return int(
            (await session.execute(select(func.count()).select_from(AgentSnapshot))).scalar_one()
        )


class _Starts:
    def __init__(
        self, client: httpx.AsyncClient, resources: Resources, project: TestProject, agent_id: str
    ) -> None:
        self.client, self.resources, self.project, self.agent_id = (
            client,
            resources,
            project,
            agent_id,
        )
        self.count = 0

    async def run(self) -> uuid.UUID:
        """A new execution (each from a new phone); the snapshot it runs."""
        self.count += 1
        phone = f"+1555008{self.count:04}"
        return await _runs(
            self.resources, await start_agent(self.client, self.project, self.agent_id, phone=phone)
        )

    async def patch(self, **fields: Any) -> None:
        url = f"{API}/{self.agent_id}"
        patched = await self.client.patch(url, headers=self.project.headers, json={"agent": fields})
        assert patched.status_code == 200, patched.text


async def test_starts_share_a_snapshot_until_the_agent_changes_what_a_snapshot_holds(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    starts = _Starts(
        client, resources, project, (await create_agent(client, project, simple_graph()))["id"]
    )

    first, again = await starts.run(), await starts.run()
    await starts.patch(name="Renamed", description="Not frozen in a snapshot")
    renamed = await starts.run()
    await starts.patch(graph=_other_graph())
    regraphed, regraphed_again = await starts.run(), await starts.run()
    await starts.patch(system_prompt="Be terse")
    reprompted = await starts.run()

    assert first == again == renamed
    assert regraphed == regraphed_again != first
    assert reprompted not in (first, regraphed)
    assert await _snapshot_count(resources) == 3
    assert (await _snapshot(resources, regraphed)).graph == _other_graph()
    assert (await _snapshot(resources, reprompted)).system_prompt == "Be terse"


async def test_a_snapshot_of_the_agent_as_it_is_is_what_the_next_start_runs(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    agent_id = (await create_agent(client, project, simple_graph()))["id"]
    starts = _Starts(client, resources, project, agent_id)
    before = await starts.run()
    url = f"{API}/{agent_id}/agent_snapshots"

    taken = await client.post(url, headers=project.headers, json={})
    other = await client.post(url, headers=project.headers, json={"graph": _other_graph()})
    after = await starts.run()

    assert taken.status_code == other.status_code == 201, (taken.text, other.text)
    assert after == uuid.UUID(taken.json()["data"]["id"]) != before  # not the other graph's


async def test_a_start_that_read_the_agent_before_an_update_does_not_pin_the_old_version(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    """PostgreSQL: the update commits while the start is open. SQLite: it waits for the
    start's commit, then replaces the pin. The start after runs the update either way."""
    project = await create_project(resources, sandbox_url)
    agent_id = (await create_agent(client, project, simple_graph()))["id"]
    starts = _Starts(client, resources, project, agent_id)
    async with resources.db.transaction() as session:
        owner = await session.get(Project, uuid.UUID(project.id))
        assert owner is not None
        agent = await agent_executions.agent_of(session, owner, uuid.UUID(agent_id))
        updating = asyncio.create_task(starts.patch(graph=_other_graph()))
        await asyncio.sleep(0.3)
        stale = await agent_executions.pin_version(session, agent, utcnow())
    await asyncio.wait_for(updating, 10)

    latest = await starts.run()

    assert (await _snapshot(resources, stale)).graph == simple_graph()
    assert latest != stale and (await _snapshot(resources, latest)).graph == _other_graph()
