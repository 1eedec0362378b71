"""The number an agent's new execution sends from follows its attachments at once.

Every start asks for it, so it is cached with the config lookups; attaching, making
primary and detaching a number must each be seen by the very next start.
"""

from __future__ import annotations

import uuid

import httpx

from agent_builders import create_agent, start_agent
from agent_graphs import simple_graph
from builders import (
    TestProject,
    create_customer,
    create_project,
    create_whatsapp_config,
    default_config_id,
)
from threadline.kit.resources import Resources
from threadline.models import FlowExecution


async def _sends_from(resources: Resources, execution: dict[str, object]) -> str:
    async with resources.db.session() as session:
        row = await session.get(FlowExecution, uuid.UUID(str(execution["id"])))
        assert row is not None
        return str(row.whatsapp_config_id)


async def _attach(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, config_id: str, **more: object
) -> str:
    response = await client.post(
        f"/api/v1/agents/{agent_id}/agent_whatsapp_configs",
        headers=project.headers,
        json={"agent_whatsapp_config": {"whatsapp_config_id": config_id, **more}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def test_each_start_sends_from_the_agents_numbers_as_they_are_now(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    agent_id = (await create_agent(client, project, simple_graph()))["id"]
    default = await default_config_id(resources, project)
    customer = (await create_customer(client, project))["id"]
    first, second = [(await create_whatsapp_config(client, project, customer))["id"] for _ in "12"]
    seen = []

    async def start() -> None:
        execution = await start_agent(client, project, agent_id, phone=f"+1555000{len(seen):04}")
        seen.append(await _sends_from(resources, execution))

    await start()
    link = await _attach(client, project, agent_id, first)
    await start()
    await _attach(client, project, agent_id, second, is_primary=True)
    await start()
    other = f"/api/v1/agents/{agent_id}/agent_whatsapp_configs"
    listed = (await client.get(other, headers=project.headers)).json()["data"]
    second_link = next(item["id"] for item in listed if item["id"] != link)
    deleted = await client.delete(f"{other}/{second_link}", headers=project.headers)
    assert deleted.status_code in (200, 204), deleted.text
    await start()
    deleted = await client.delete(f"{other}/{link}", headers=project.headers)
    assert deleted.status_code in (200, 204), deleted.text
    await start()

    assert seen == [default, first, second, first, default]
