"""The graph rules one by one (pure: ``check_graph`` needs no database nor network)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agent_graphs import (
    edge,
    graph,
    knowledge_base_tool,
    mcp_tool,
    node,
    subagent_node,
    support_graph,
    template_tool,
    webhook_node,
    webhook_tool,
)
from threadline.agents.validation import GraphInvalid, check_graph, graph_problems, validate_graph
from threadline.engine.agent.graph import END, START
from threadline.kit.egress import EgressPolicy


def _problems(raw: Any) -> set[tuple[str | None, str]]:
    return {(p.node, p.field) for p in check_graph(raw).problems}


def _messages(raw: Any) -> dict[str, str]:
    return {p.field: p.message for p in check_graph(raw).problems}


def _one(*nodes: dict[str, Any]) -> dict[str, Any]:
    """``nodes`` each reachable from the start (so only their own problems show)."""
    return graph(list(nodes), [edge(START, n["name"]) for n in nodes])


def test_the_sdk_example_and_an_empty_graph_pass() -> None:
    assert check_graph(support_graph()).problems == []
    assert check_graph({"nodes": [], "edges": []}).problems == []
    assert check_graph({}).problems == []


def test_the_graph_and_its_lists_must_have_their_shapes() -> None:
    assert _problems([]) == {(None, "graph")}
    assert _problems({"nodes": {}, "edges": "x"}) == {(None, "nodes"), (None, "edges")}
    assert _problems({"nodes": [3], "edges": [None]}) == {(None, "nodes[0]"), (None, "edges[0]")}


def test_node_type_prompt_id_and_global_rules() -> None:
    raw = _one(
        node("a", "FancyNode"),
        node("b") | {"prompt": 5, "id": 7},
        node("c") | {"global_condition": "when lost"},
        node("d") | {"global": "yes"},
        node("e", global_condition="") | {"global": True},
    )
    assert _problems(raw) == {
        ("a", "nodes[1].type"),
        ("b", "nodes[2].prompt"),
        ("b", "nodes[2].id"),
        ("c", "nodes[3].global_condition"),
        ("d", "nodes[4].global"),
        ("e", "nodes[5].global_condition"),
    }
    assert _problems(graph([node("")], [])) == {(None, "nodes[1].name")}


def test_each_type_needs_its_config_and_its_config_its_fields() -> None:
    raw = _one(
        node("w", "WebhookNode"),
        node("k", "KnowledgeBaseNode", knowledge_base={"knowledge_base_text": " "}),
        node("t", "WhatsappTemplateNode", whatsapp_template={"template_parameters": []}),
        node("e", "WarmEndNode", warm_end={"timeout_minutes": 0}),
        node("f", "WarmEndNode", warm_end={"timeout_minutes": True}),
        node("h", "HandoffNode"),
    )
    assert _problems(raw) == {
        ("w", "nodes[1].webhook"),
        ("k", "nodes[2].knowledge_base.knowledge_base_text"),
        ("t", "nodes[3].whatsapp_template.template_name"),
        ("t", "nodes[3].whatsapp_template.phone_number"),
        ("t", "nodes[3].whatsapp_template.template_parameters"),
        ("e", "nodes[4].warm_end.timeout_minutes"),
        ("f", "nodes[5].warm_end.timeout_minutes"),
    }


def test_webhook_fields_json_strings_schema_method_and_jmespath() -> None:
    hook = webhook_node("w", "https://api.example.com/", http_method="FETCH")
    hook["webhook"] |= {
        "headers": "{not json",
        "body": 12,
        "body_schema": '{"type": "object", "required": "title"}',
        "jmespath_query": "data[",
        "mock_response_enabled": "on",
    }
    messages = _messages(_one(hook))
    assert set(messages) == {
        "nodes[1].webhook.http_method",
        "nodes[1].webhook.headers",
        "nodes[1].webhook.body",
        "nodes[1].webhook.body_schema",
        "nodes[1].webhook.jmespath_query",
        "nodes[1].webhook.mock_response_enabled",
    }
    assert messages["nodes[1].webhook.headers"].startswith("is not valid JSON")
    assert "JSON Schema" in messages["nodes[1].webhook.body_schema"]
    assert "JMESPath" in messages["nodes[1].webhook.jmespath_query"]
    objects = webhook_node("o", "https://x.example/")
    objects["webhook"] |= {"headers": {"A": "b"}, "body_schema": {"type": "object"}}
    assert _problems(_one(objects)) == set()
    not_an_object = webhook_node("s", "https://x.example/")
    not_an_object["webhook"]["body_schema"] = "[1, 2]"
    assert _problems(_one(not_an_object)) == {("s", "nodes[1].webhook.body_schema")}


def test_subagent_tools_are_named_uniquely_and_checked_by_kind() -> None:
    bad_mcp = mcp_tool("docs", "https://mcp.example.com", queries={"search": "a[["})
    bad_mcp["transport_kind"] = "carrier_pigeon"
    stdio = {"name": "local", "command": "npx server", "url": "https://x.example"}
    helper = subagent_node(
        "helper",
        webhooks=[webhook_tool("get", "https://x.example"), webhook_tool("bad name", "")],
        knowledge_bases=[knowledge_base_tool("get", "")],
        mcp_servers=[bad_mcp, stdio],
        whatsapp_templates=[template_tool("promo") | {"template_name": None}],
    )
    assert _problems(_one(helper)) == {
        ("helper", "nodes[1].subagent.webhooks[1].name"),
        ("helper", "nodes[1].subagent.webhooks[1].url"),
        ("helper", "nodes[1].subagent.knowledge_bases[0].name"),
        ("helper", "nodes[1].subagent.knowledge_bases[0].knowledge_base_text"),
        ("helper", "nodes[1].subagent.mcp_servers[0].transport_kind"),
        ("helper", "nodes[1].subagent.mcp_servers[0].jmespath_queries[0].jmespath_query"),
        ("helper", "nodes[1].subagent.mcp_servers[1]"),
        ("helper", "nodes[1].subagent.whatsapp_templates[0].template_name"),
    }
    assert _problems(_one(node("s", "SubagentNode", subagent={"webhooks": {}}))) == {
        ("s", "nodes[1].subagent.webhooks")
    }


def test_edges_name_nodes_and_never_leave_the_end_nor_enter_the_start() -> None:
    raw = graph(
        [node("a")],
        [edge(START, "a"), edge("a", "b"), edge(END, "a"), edge("a", START), {"from": "a"}],
    )
    messages = _messages(raw)
    assert set(messages) == {"edges[1].to", "edges[2].from", "edges[3].to", "edges[4].to"}
    assert messages["edges[2].from"] == "an edge cannot leave __end__"
    assert messages["edges[3].to"] == "an edge cannot enter __start__"
    assert messages["edges[4].to"] == "is required"


def test_nodes_only_global_nodes_lead_to_are_reachable() -> None:
    raw = graph(
        [node("main"), node("help", global_condition="lost"), node("faq"), node("island")],
        [edge(START, "main"), edge("help", "faq"), edge("island", END)],
    )
    assert _problems(raw) == {("island", "nodes[4]")}


def test_mcp_urls_go_through_the_egress_policy() -> None:
    helper = subagent_node(
        "helper",
        mcp_servers=[
            mcp_tool("loop", "http://127.0.0.1:8080/mcp"),
            mcp_tool("ok", "http://[2606:4700::1111]/mcp"),
            mcp_tool("again", "http://127.0.0.1:8080/mcp"),
        ],
    )
    raw = _one(helper)
    with pytest.raises(GraphInvalid) as refused:
        asyncio.run(validate_graph(raw, EgressPolicy.build(""), where="agent.graph"))
    assert [(e["field"], "loopback" in e["message"]) for e in refused.value.errors or []] == [
        ("agent.graph.nodes[1].subagent.mcp_servers[0].url", True),
        ("agent.graph.nodes[1].subagent.mcp_servers[2].url", True),
    ]
    allowed = EgressPolicy.build("127.0.0.0/8")
    parsed = asyncio.run(validate_graph(raw, allowed, where="agent.graph"))
    assert [n.name for n in parsed.real_nodes()] == ["helper"]


def test_fields_no_rule_names_must_still_parse() -> None:
    hook = webhook_node("w", "https://x.example/")
    hook["webhook"]["name"] = 5
    handoff = node("h", "HandoffNode", handoff="nobody")
    checker = asyncio.run(graph_problems(_one(hook, handoff), EgressPolicy.build("")))
    assert {(p.node, p.field) for p in checker.problems} == {
        ("w", "nodes[1].webhook.name"),
        ("h", "nodes[2].handoff"),
    }
