"""The numbers an agent answers on: one agent per number, one primary per agent."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from builders import (
    TestProject,
    create_customer,
    create_project,
    create_whatsapp_config,
    default_config_id,
)
from threadline.kit.resources import Resources

API = "/api/v1/agents"


async def _agent(client: httpx.AsyncClient, project: TestProject, name: str) -> str:
    created = await client.post(API, headers=project.headers, json={"agent": {"name": name}})
    assert created.status_code == 201
    agent_id: str = created.json()["data"]["id"]
    return agent_id


def _attach(config_id: str, **fields: Any) -> dict[str, Any]:
    return {"agent_whatsapp_config": {"whatsapp_config_id": config_id, **fields}}


async def test_attach_list_get_update_and_detach(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    agent_id = await _agent(client, project, "Bot")
    url = f"{API}/{agent_id}/agent_whatsapp_configs"
    sandbox_id = await default_config_id(resources, project)
    customer = await create_customer(client, project)
    second_id = (await create_whatsapp_config(client, project, customer["id"]))["id"]

    first = await client.post(url, headers=h, json=_attach(sandbox_id))
    assert first.status_code == 201, first.text
    one = first.json()["data"]
    assert one["is_primary"] is True and one["whatsapp_config"]["id"] == sandbox_id
    assert one["agent_id"] == agent_id and one["whatsapp_config_id"] == sandbox_id
    other = await client.post(url, headers=h, json=_attach(second_id, is_primary=True))
    assert other.status_code == 201 and other.json()["data"]["is_primary"] is True
    two = other.json()["data"]

    listing = (await client.get(url, headers=h)).json()
    assert [(c["id"], c["is_primary"]) for c in listing["data"]] == [
        (one["id"], False),
        (two["id"], True),
    ]
    assert listing["meta"]["total_count"] == 2

    made = await client.put(
        f"{url}/{one['id']}", headers=h, json={"agent_whatsapp_config": {"is_primary": True}}
    )
    assert made.status_code == 200 and made.json()["data"]["is_primary"] is True
    fetched = await client.get(f"{url}/{two['id']}", headers=h)
    assert fetched.status_code == 200 and fetched.json()["data"]["is_primary"] is False

    gone = await client.delete(f"{url}/{one['id']}", headers=h)
    assert gone.status_code == 204 and gone.content == b""
    rest = (await client.get(url, headers=h)).json()["data"]
    assert [(c["id"], c["is_primary"]) for c in rest] == [(two["id"], True)]
    assert (await client.get(f"{url}/{one['id']}", headers=h)).status_code == 404
    assert (await client.delete(f"{url}/{one['id']}", headers=h)).status_code == 404


async def test_a_number_serves_one_agent_and_belongs_to_the_project(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    stranger = await create_project(resources, sandbox_url, name="Other")
    h = project.headers
    first, second = await _agent(client, project, "A"), await _agent(client, project, "B")
    config_id = await default_config_id(resources, project)
    attached = await client.post(
        f"{API}/{first}/agent_whatsapp_configs", headers=h, json=_attach(config_id)
    )
    assert attached.status_code == 201
    link_id = attached.json()["data"]["id"]

    answers = [
        await client.post(
            f"{API}/{first}/agent_whatsapp_configs", headers=h, json=_attach(config_id)
        ),
        await client.post(
            f"{API}/{second}/agent_whatsapp_configs", headers=h, json=_attach(config_id)
        ),
        await client.post(
            f"{API}/{second}/agent_whatsapp_configs",
            headers=h,
            json=_attach(await default_config_id(resources, stranger)),
        ),
        await client.post(
            f"{API}/{second}/agent_whatsapp_configs", headers=h, json=_attach(str(uuid.uuid4()))
        ),
    ]
    assert [a.status_code for a in answers] == [422, 422, 422, 422]
    for answer in answers:
        assert answer.json()["errors"][0]["field"] == "agent_whatsapp_config.whatsapp_config_id"
    assert first in answers[1].json()["message"]

    # Another agent's, or another project's, attachment is not found through this agent.
    assert (
        await client.get(f"{API}/{second}/agent_whatsapp_configs/{link_id}", headers=h)
    ).status_code == 404
    sh = stranger.headers
    stranger_answers = [
        await client.get(f"{API}/{first}/agent_whatsapp_configs/{link_id}", headers=sh),
        await client.put(
            f"{API}/{first}/agent_whatsapp_configs/{link_id}",
            headers=sh,
            json={"agent_whatsapp_config": {"is_primary": False}},
        ),
        await client.delete(f"{API}/{first}/agent_whatsapp_configs/{link_id}", headers=sh),
        await client.post(
            f"{API}/{first}/agent_whatsapp_configs",
            headers=sh,
            json=_attach(await default_config_id(resources, stranger)),
        ),
    ]
    assert [a.status_code for a in stranger_answers] == [404, 404, 404, 404]
    still = await client.get(f"{API}/{first}/agent_whatsapp_configs/{link_id}", headers=h)
    assert still.status_code == 200 and still.json()["data"]["is_primary"] is True


async def test_deleting_a_number_detaches_it_from_its_agent(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    agent_id = await _agent(client, project, "Bot")
    customer = await create_customer(client, project)
    config_id = (await create_whatsapp_config(client, project, customer["id"]))["id"]
    url = f"{API}/{agent_id}/agent_whatsapp_configs"
    attached = await client.post(url, headers=h, json=_attach(config_id))
    assert attached.status_code == 201
    deleted = await client.delete(f"/api/v1/whatsapp_configs/{config_id}", headers=h)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(url, headers=h)).json()["data"] == []
