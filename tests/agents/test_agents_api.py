"""The Agents API as Kapso's CLI uses it: push (create, then PATCH), pull (the graph),
snapshots, validation, project scoping."""

from __future__ import annotations

import copy
import uuid

import httpx

from agent_graphs import (
    agent_body,
    edge,
    graph,
    mcp_tool,
    node,
    push_agent,
    simple_graph,
    subagent_node,
    support_graph,
    template_node,
    template_tool,
    webhook_node,
)
from builders import count_rows, create_project, default_config_id
from threadline.engine.agent.graph import END, START
from threadline.kit.resources import Resources
from threadline.models import Agent, AgentSnapshot

API = "/api/v1/agents"


async def test_push_creates_then_patches_and_the_graph_round_trips_exactly(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    sent = support_graph()
    created, patched = await push_agent(client, project, agent_body("Support Bot", sent))
    assert patched.status_code == 200, patched.text
    agent_id = created.json()["data"]["id"]
    assert patched.json()["data"]["id"] == agent_id
    assert created.json()["data"]["project_id"] == project.id

    pulled = (await client.get(f"{API}/{agent_id}/graph", headers=h)).json()["data"]
    assert pulled["graph"] == sent
    assert (pulled["name"], pulled["system_prompt"], pulled["message_debounce_seconds"]) == (
        "Support Bot",
        "Be nice",
        3,
    )
    assert pulled["description"] is None and pulled["agent_version"] == 1

    one = await client.get(f"{API}/{agent_id}", headers=h)
    assert one.status_code == 200 and one.json()["data"]["name"] == "Support Bot"


async def test_a_graph_keeps_keys_the_sdk_adds_and_edits_replace_it_whole(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    bare = await client.post(API, headers=h, json={"agent": {"name": "Bare"}})
    assert bare.status_code == 201
    url = f"{API}/{bare.json()['data']['id']}"
    assert (await client.get(f"{url}/graph", headers=h)).json()["data"]["graph"] == {
        "nodes": [],
        "edges": [],
    }
    odd = simple_graph() | {"metadata": {"layout": "tb"}, "tools": []}
    odd["nodes"][1]["position"] = {"x": 1, "y": 2}
    update = {"graph": odd, "agent_version": 2, "description": "Greets", "environment": "prod"}
    patched = await client.patch(url, headers=h, json={"agent": update})
    assert patched.status_code == 200, patched.text
    pulled = (await client.get(f"{url}/graph", headers=h)).json()["data"]
    assert pulled["graph"] == odd
    assert (pulled["agent_version"], pulled["description"]) == (2, "Greets")
    renamed = await client.patch(url, headers=h, json={"agent": {"name": "Renamed"}})
    assert renamed.json()["data"]["name"] == "Renamed"
    assert (await client.get(f"{url}/graph", headers=h)).json()["data"]["graph"] == odd


def _broken_graph() -> dict[str, object]:
    bad_schema = webhook_node("hook", "https://api.example.com/", body_schema={"type": "nope"})
    subagent = subagent_node(
        "helper",
        mcp_servers=[
            mcp_tool("private", "http://10.1.2.3/mcp"),
            mcp_tool("metadata", "http://169.254.169.254/latest"),
            mcp_tool("private", "ftp://files.example.com/"),
        ],
    )
    return graph(
        [
            node("bad name", prompt="x"),
            node("greet", prompt="Hi"),
            node("greet", prompt="Again"),
            node("lonely", prompt="Nobody comes here"),
            node("nocfg", "WarmEndNode"),
            node("loose", global_condition=None) | {"global": True},
            bad_schema,
            subagent,
        ],
        [
            edge(START, "greet"),
            edge("greet", "nowhere"),
            edge("ghost", END),
            edge("greet", "hook"),
            edge("hook", "helper"),
            edge("greet", "bad name"),
            edge("greet", "nocfg"),
        ],
    )


EXPECTED_PROBLEMS = {
    ("bad name", "agent.graph.nodes[1].name"),
    ("greet", "agent.graph.nodes[3].name"),
    ("lonely", "agent.graph.nodes[4]"),
    ("nocfg", "agent.graph.nodes[5].warm_end"),
    ("loose", "agent.graph.nodes[6].global_condition"),
    ("hook", "agent.graph.nodes[7].webhook.body_schema"),
    ("helper", "agent.graph.nodes[8].subagent.mcp_servers[0].url"),
    ("helper", "agent.graph.nodes[8].subagent.mcp_servers[1].url"),
    ("helper", "agent.graph.nodes[8].subagent.mcp_servers[2].name"),
    ("helper", "agent.graph.nodes[8].subagent.mcp_servers[2].url"),
    (None, "agent.graph.edges[1].to"),
    (None, "agent.graph.edges[2].from"),
}


async def test_every_graph_problem_is_listed_in_one_422_and_nothing_is_created(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    before = await count_rows(resources, Agent)
    refused = await client.post(API, headers=project.headers, json=agent_body("X", _broken_graph()))
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "Invalid agent graph" and body["status"] == 422
    found = {(e["node"], e["field"]) for e in body["errors"]}
    assert found == EXPECTED_PROBLEMS
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert "private" in messages["agent.graph.nodes[8].subagent.mcp_servers[0].url"]
    assert "link-local" in messages["agent.graph.nodes[8].subagent.mcp_servers[1].url"]
    assert "JSON Schema" in messages["agent.graph.nodes[7].webhook.body_schema"]
    assert await count_rows(resources, Agent) == before


async def test_a_refused_patch_changes_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    created, _ = await push_agent(client, project, agent_body("Keep", simple_graph()))
    url = f"{API}/{created.json()['data']['id']}"
    broken = {"agent": {"name": "Changed", "graph": {"nodes": "all", "edges": [{"to": 1}]}}}
    refused = await client.patch(url, headers=h, json=broken)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "agent.graph.nodes",
        "agent.graph.edges[0].from",
        "agent.graph.edges[0].to",
    }
    pulled = (await client.get(f"{url}/graph", headers=h)).json()["data"]
    assert pulled["name"] == "Keep" and pulled["graph"] == simple_graph()


async def test_field_problems_are_a_422_too(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    fields = {"name": "", "message_debounce_seconds": -1, "agent_version": 3}
    refused = await client.post(API, headers=project.headers, json={"agent": fields})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {
        "agent.name",
        "agent.message_debounce_seconds",
        "agent.agent_version",
    }


async def test_snapshots_freeze_the_agent_and_edits_leave_them_alone(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    first = support_graph()
    created, _ = await push_agent(client, project, agent_body("Frozen", first))
    agent_id = created.json()["data"]["id"]
    url = f"{API}/{agent_id}/agent_snapshots"

    made = await client.post(url, headers=h, json={})
    assert made.status_code == 201, made.text
    snap = made.json()["data"]
    assert snap["agent_id"] == agent_id and snap["graph"] == first
    assert snap["name"].startswith("Frozen Snapshot (")
    assert snap["system_prompt"] == "Be nice"

    changed = copy.deepcopy(simple_graph())
    edit = {"agent": {"graph": changed, "system_prompt": "Be terse", "agent_version": 2}}
    assert (await client.patch(f"{API}/{agent_id}", headers=h, json=edit)).status_code == 200
    again = (await client.get(f"/api/v1/agent_snapshots/{snap['id']}", headers=h)).json()["data"]
    assert again == snap

    custom = await client.post(url, headers=h, json={"graph": support_graph()})
    assert custom.status_code == 201 and custom.json()["data"]["graph"] == support_graph()
    assert custom.json()["data"]["agent_version"] == 2
    current = await client.post(url, headers=h)
    assert current.status_code == 201 and current.json()["data"]["graph"] == changed

    before = await count_rows(resources, AgentSnapshot)
    bad = {"graph": graph([node("x")], [edge(START, "y")])}
    refused = await client.post(url, headers=h, json=bad)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"graph.edges[0].to", "graph.nodes[1]"}
    assert await count_rows(resources, AgentSnapshot) == before
    missing = await client.post(f"{API}/{uuid.uuid4()}/agent_snapshots", headers=h, json={})
    assert missing.status_code == 404
    unknown = await client.get(f"/api/v1/agent_snapshots/{uuid.uuid4()}", headers=h)
    assert unknown.status_code == 404


async def test_lists_page_and_filter(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    for name in ("Sales bot", "Support bot", "Billing"):
        assert (
            await client.post(API, headers=h, json={"agent": {"name": name}})
        ).status_code == 201
    page = (await client.get(API, headers=h, params={"per_page": 2})).json()
    assert [a["name"] for a in page["data"]] == ["Billing", "Support bot"]
    assert page["meta"]["total_count"] == 3 and page["meta"]["total_pages"] == 2
    bots = (await client.get(API, headers=h, params={"q[name_cont]": "BOT"})).json()
    assert sorted(a["name"] for a in bots["data"]) == ["Sales bot", "Support bot"]


async def test_another_projects_agents_and_snapshots_are_404(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    created, _ = await push_agent(client, mine, agent_body("Private", simple_graph()))
    agent_id = created.json()["data"]["id"]
    snap = await client.post(f"{API}/{agent_id}/agent_snapshots", headers=mine.headers, json={})
    h = theirs.headers
    answers = [
        await client.get(f"{API}/{agent_id}", headers=h),
        await client.get(f"{API}/{agent_id}/graph", headers=h),
        await client.patch(f"{API}/{agent_id}", headers=h, json=agent_body("Stolen")),
        await client.patch(f"{API}/{agent_id}", headers=h, json=agent_body("X", {"nodes": 1})),
        await client.post(f"{API}/{agent_id}/agent_snapshots", headers=h, json={}),
        await client.get(f"/api/v1/agent_snapshots/{snap.json()['data']['id']}", headers=h),
        await client.get(f"{API}/{agent_id}/agent_whatsapp_configs", headers=h),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert (await client.get(API, headers=h)).json()["data"] == []
    pulled = await client.get(f"{API}/{agent_id}", headers=mine.headers)
    assert pulled.json()["data"]["name"] == "Private"


async def test_templates_may_name_only_the_projects_own_whatsapp_configs(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    stranger = await create_project(resources, sandbox_url, name="Other")
    own = await default_config_id(resources, project)
    foreign = await default_config_id(resources, stranger)

    def with_configs(node_config: str, tool_config: str) -> dict[str, object]:
        tpl = template_node()
        tpl["whatsapp_template"] = tpl["whatsapp_template"] | {"whatsapp_config_id": node_config}
        tool = template_tool("promo") | {"whatsapp_config_id": tool_config}
        helper = subagent_node("helper", whatsapp_templates=[tool])
        return graph([tpl, helper], [edge(START, "tpl"), edge("tpl", "helper")])

    refused = await client.post(
        API, headers=project.headers, json=agent_body("T", with_configs(foreign, "wc-1"))
    )
    assert refused.status_code == 422
    assert {(e["node"], e["field"]) for e in refused.json()["errors"]} == {
        ("tpl", "agent.graph.nodes[1].whatsapp_template.whatsapp_config_id"),
        ("helper", "agent.graph.nodes[2].subagent.whatsapp_templates[0].whatsapp_config_id"),
    }
    accepted = await client.post(
        API, headers=project.headers, json=agent_body("T", with_configs(own, own))
    )
    assert accepted.status_code == 201, accepted.text
