"""The Agents API, checked against ``openapi-agents.yaml`` and ``openapi.yaml``.

Every answer of every agent route, successes and refusals alike, is validated in place.
Explicit adjustments, each because the reference's schema disagrees with what Kapso's
own SDK sends (research/kapso_sdk.md §2.2) or with its own descriptions:

- ``AgentGraph``: the graph is returned exactly as it was sent. The SDK sends neither
  ``tools`` nor ``metadata``, so their presence is not required; it sends a webhook's
  ``headers``, ``body`` and ``mock_response`` as JSON *strings*, so each is checked as a
  string or an object.
- ``Agent.description`` and ``AgentWithGraph.system_prompt`` are null when never sent
  (the SDK never sends a description): checked as nullable.
- ``WhatsappConfig`` (inside ``AgentWhatsappConfig``) is the WhatsApp spec's, as in
  test_contract_customers_configs.py: the others declare write-only fields no answer
  carries; the project's sandbox config has no customer (``customer_id`` nullable).
"""

from __future__ import annotations

import copy
import uuid

import httpx

from agent_graphs import agent_body, edge, graph, node, push_agent, support_graph
from builders import TestProject, create_project, default_config_id
from contract.test_contract_kapso_v1 import AGENTS, CORE, Spec, check, load_spec
from threadline.engine.agent.graph import START
from threadline.kit.resources import Resources

WHATSAPP = "openapi-whatsapp.yaml"
API = "/api/v1/agents"
NO_KEY = {"X-API-Key": "tl_wrong"}
STRING_OR_OBJECT = {"oneOf": [{"type": "string"}, {"type": "object"}]}


def _nullable(schema: dict[str, object], name: str) -> dict[str, object]:
    schema = copy.deepcopy(schema)
    schema["properties"][name]["nullable"] = True  # type: ignore[index]
    return schema


def _graph_schema(spec: Spec) -> dict[str, object]:
    schema = copy.deepcopy(spec.schemas["AgentGraph"])
    for optional in ("tools", "metadata"):
        schema["properties"].pop(optional, None)
    webhook = schema["properties"]["nodes"]["items"]["properties"]["webhook"]
    for name in ("headers", "body", "mock_response"):
        webhook["properties"][name] = STRING_OR_OBJECT
    return schema


def _spec(name: str) -> Spec:
    spec = load_spec(name)
    config = _nullable(load_spec(WHATSAPP).schemas["WhatsappConfig"], "customer_id")
    return spec.with_schemas(
        {
            "AgentGraph": _graph_schema(spec),
            "Agent": _nullable(spec.schemas["Agent"], "description"),
            "AgentWithGraph": _nullable(spec.schemas["AgentWithGraph"], "system_prompt"),
            "WhatsappConfig": config,
        }
    )


def _both(path: str, *answers: httpx.Response) -> None:
    for spec in (_spec(AGENTS), _spec(CORE)):
        for answer in answers:
            check(spec, path, answer)


async def _pushed(client: httpx.AsyncClient, project: TestProject) -> tuple[str, ...]:
    created, patched = await push_agent(client, project, agent_body("Bot", support_graph()))
    assert patched.status_code == 200
    return created.json()["data"]["id"], f"{API}/{created.json()['data']['id']}"


async def test_contract_agents_list_create_get_update_and_graph(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    created = await client.post(API, headers=h, json={"agent": {"name": "Bare"}})
    refused = await client.post(API, headers=h, json=agent_body("X", graph([node("a")], [])))
    listing = await client.get(API, headers=h)
    assert [created.status_code, refused.status_code, listing.status_code] == [201, 422, 200]
    _both("/agents", created, refused, listing, await client.get(API, headers=NO_KEY))

    _, one = await _pushed(client, project)
    bare = f"{API}/{created.json()['data']['id']}"
    missing = f"{API}/{uuid.uuid4()}"
    answers = [
        await client.get(one, headers=h),
        await client.get(missing, headers=h),
        await client.get(one, headers=NO_KEY),
        await client.patch(one, headers=h, json={"agent": {"system_prompt": "Be terse"}}),
        await client.patch(one, headers=h, json={"agent": {"graph": {"nodes": 3}}}),
        await client.patch(missing, headers=h, json={"agent": {"name": "x"}}),
        await client.patch(one, headers=NO_KEY, json={"agent": {"name": "x"}}),
    ]
    assert [a.status_code for a in answers] == [200, 404, 401, 200, 422, 404, 401]
    _both("/agents/{agent_id}", *answers)

    graphs = [
        await client.get(f"{one}/graph", headers=h),
        await client.get(f"{bare}/graph", headers=h),
        await client.get(f"{missing}/graph", headers=h),
        await client.get(f"{one}/graph", headers=NO_KEY),
    ]
    assert [a.status_code for a in graphs] == [200, 200, 404, 401]
    assert graphs[0].json()["data"]["graph"] == support_graph()
    _both("/agents/{agent_id}/graph", *graphs)


async def test_contract_agent_snapshots(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    core = _spec(CORE)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    _, one = await _pushed(client, project)
    url = f"{one}/agent_snapshots"
    bad = {"graph": graph([node("a")], [edge(START, "b")])}
    answers = [
        await client.post(url, headers=h, json={}),
        await client.post(url, headers=h, json={"graph": support_graph()}),
        await client.post(url, headers=h, json=bad),
        await client.post(f"{API}/{uuid.uuid4()}/agent_snapshots", headers=h, json={}),
        await client.post(url, headers=NO_KEY, json={}),
    ]
    assert [a.status_code for a in answers] == [201, 201, 422, 404, 401]
    for answer in answers:
        check(core, "/agents/{agent_id}/agent_snapshots", answer)

    snapshot_id = answers[0].json()["data"]["id"]
    gets = [
        await client.get(f"/api/v1/agent_snapshots/{snapshot_id}", headers=h),
        await client.get(f"/api/v1/agent_snapshots/{uuid.uuid4()}", headers=h),
        await client.get(f"/api/v1/agent_snapshots/{snapshot_id}", headers=NO_KEY),
    ]
    assert [a.status_code for a in gets] == [200, 404, 401]
    for answer in gets:
        check(core, "/agent_snapshots/{id}", answer)


async def test_contract_agent_whatsapp_configs(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    _, one = await _pushed(client, project)
    url = f"{one}/agent_whatsapp_configs"
    missing_agent = f"{API}/{uuid.uuid4()}/agent_whatsapp_configs"
    config_id = await default_config_id(resources, project)
    body = {"agent_whatsapp_config": {"whatsapp_config_id": config_id}}
    collection = [
        await client.post(url, headers=h, json=body),
        await client.post(url, headers=h, json=body),
        await client.post(missing_agent, headers=h, json=body),
        await client.post(url, headers=NO_KEY, json=body),
        await client.get(url, headers=h),
        await client.get(missing_agent, headers=h),
        await client.get(url, headers=NO_KEY),
    ]
    assert [a.status_code for a in collection] == [201, 422, 404, 401, 200, 404, 401]
    _both("/agents/{agent_id}/agent_whatsapp_configs", *collection)

    link = f"{url}/{collection[0].json()['data']['id']}"
    missing = f"{url}/{uuid.uuid4()}"
    primary = {"agent_whatsapp_config": {"is_primary": False}}
    members = [
        await client.get(link, headers=h),
        await client.get(missing, headers=h),
        await client.get(link, headers=NO_KEY),
        await client.put(link, headers=h, json=primary),
        await client.put(link, headers=h, json={"agent_whatsapp_config": {"is_primary": "maybe"}}),
        await client.put(missing, headers=h, json=primary),
        await client.put(link, headers=NO_KEY, json=primary),
        await client.delete(missing, headers=h),
        await client.delete(link, headers=NO_KEY),
        await client.delete(link, headers=h),
    ]
    assert [a.status_code for a in members] == [200, 404, 401, 200, 422, 404, 401, 404, 401, 204]
    _both("/agents/{agent_id}/agent_whatsapp_configs/{id}", *members)
