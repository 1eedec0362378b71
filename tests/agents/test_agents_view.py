"""``to_view``: a stored SDK graph as the interpreter's ``AgentGraph`` (pure, no database)."""

from __future__ import annotations

from agent_graphs import (
    edge,
    graph,
    knowledge_base_node,
    node,
    subagent_node,
    support_graph,
    webhook_node,
)
from threadline.agents.view import to_view
from threadline.engine.agent.graph import END, START, AgentEdge, TemplateOption
from threadline.engine.agent.tools import offered
from threadline.llm.types import ToolSpec

MCP_URL = "https://mcp.example.com/mcp"
SEARCH = ToolSpec("search", "Search the docs", {"type": "object", "properties": {}})


def test_nodes_edges_and_globals_come_through_without_start_and_end() -> None:
    view = to_view(support_graph(), system_prompt="Be nice", name="Bot", agent_version=2)
    assert (view.name, view.system_prompt, view.version) == ("Bot", "Be nice", 2)
    assert START not in view.nodes and END not in view.nodes
    assert set(view.nodes) == {"helper", "create_ticket", "kb", "human", "bye", "tpl"}
    assert view.start_node() == "helper"
    assert AgentEdge("helper", "bye", "done") in view.edges
    assert AgentEdge("create_ticket", "kb", None) in view.edges
    human = view.nodes["human"]
    assert human.type == "HandoffNode" and human.is_global
    assert human.global_condition == "the user asks for a person"
    assert [g.name for g in view.global_nodes()] == ["human"]
    assert (
        view.nodes["bye"].warm_end_minutes == 30 and view.nodes["helper"].warm_end_minutes is None
    )


def test_a_webhook_node_is_an_external_tool_with_its_request_decoded() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    g = graph(
        [
            webhook_node(
                "create_ticket",
                "https://api.example.com/#{team}/t",
                headers={"X-Key": "#{key}"},
                body_schema=schema,
                mock_response={"ok": True},
            )
        ],
        [edge(START, "create_ticket")],
    )
    view = to_view(g, system_prompt="", name="Bot", agent_version=1)
    tool = view.nodes["create_ticket"].tools[0]
    assert tool.kind == "webhook" and tool.spec.name == "create_ticket_request"
    assert tool.spec.parameters == {
        "type": "object",
        "properties": {
            "team": {"type": "string"},
            "key": {"type": "string"},
            "title": {"type": "string"},
        },
        "required": ["team", "key", "title"],
    }
    assert tool.config == {
        "url": "https://api.example.com/#{team}/t",
        "method": "POST",
        "headers": {"X-Key": "#{key}"},
        "body": None,
        "body_schema": schema,
        "jmespath_query": None,
        "mock_response_enabled": True,
        "mock_response": {"ok": True},
    }
    assert tool.spec in offered(view.nodes["create_ticket"], version=1)


def test_a_body_without_schema_lends_its_placeholders() -> None:
    g = graph([webhook_node("w", "https://x.example/", body={"q": "#{query}"})], [edge(START, "w")])
    tool = to_view(g, system_prompt="", name="B", agent_version=1).nodes["w"].tools[0]
    assert tool.spec.parameters["required"] == ["query"]
    assert tool.config["body"] == {"q": "#{query}"}


def test_subagent_tools_webhooks_knowledge_bases_mcp_and_templates() -> None:
    view = to_view(
        support_graph(mcp_url=MCP_URL),
        system_prompt="",
        name="Bot",
        agent_version=1,
        mcp_tools={MCP_URL: [SEARCH]},
    )
    helper = view.nodes["helper"]
    by_name = {t.spec.name: t for t in helper.tools}
    assert set(by_name) == {"get_order_request", "kb_retrieval", "docs__search"}
    order = by_name["get_order_request"]
    assert order.spec.description == "Look an order up"
    assert order.config["method"] == "GET" and order.config["headers"] == {
        "Authorization": "Bearer k"
    }
    assert order.config["jmespath_query"] == "data.status"
    assert order.spec.parameters["required"] == ["order_id"]
    kb = by_name["kb_retrieval"]
    assert kb.kind == "knowledge_base"
    assert kb.config == {
        "knowledge_bases": [
            {
                "key": "faq",
                "name": "faq",
                "description": "Opening hours",
                "knowledge_base_text": "Hours 9-5",
                "knowledge_base_file": None,
            }
        ]
    }
    assert kb.spec.parameters["properties"]["knowledge_base_key"]["enum"] == ["faq"]
    mcp = by_name["docs__search"]
    assert mcp.kind == "mcp" and mcp.spec.description == "Search the docs"
    assert mcp.config == {
        "server": "docs",
        "url": MCP_URL,
        "transport": "streamable_http",
        "tool_name": "search",
        "jmespath_query": "results[0]",
    }
    assert helper.templates == (
        TemplateOption(
            template_name="promo_v1",
            phone_number="{{phone}}",
            parameters={"1": "x"},
            wait_for_response=True,
            description="Send promo_v1",
        ),
    )


def test_undiscovered_mcp_servers_offer_no_tools_yet() -> None:
    view = to_view(support_graph(mcp_url=MCP_URL), system_prompt="", name="B", agent_version=1)
    assert "docs__search" not in {t.spec.name for t in view.nodes["helper"].tools}


def test_a_knowledge_base_node_is_keyed_after_its_node() -> None:
    g = graph([knowledge_base_node("faq", "We open at 9")], [edge(START, "faq")])
    tool = to_view(g, system_prompt="", name="B", agent_version=1).nodes["faq"].tools[0]
    assert tool.spec.name == "kb_retrieval"
    assert tool.config["knowledge_bases"][0]["key"] == "kb_faq"
    assert tool.config["knowledge_bases"][0]["knowledge_base_text"] == "We open at 9"


def test_a_template_node_offers_its_template_and_a_global_subagent_its_condition() -> None:
    view = to_view(support_graph(), system_prompt="", name="B", agent_version=1)
    (option,) = view.nodes["tpl"].templates
    assert (option.template_name, option.phone_number, option.parameters) == (
        "hello",
        "+15550001111",
        {"1": "Ana"},
    )
    g = graph(
        [node("main", prompt="Chat"), subagent_node("help", global_condition="the user is lost")],
        [edge(START, "main"), edge("main", END)],
    )
    view = to_view(g, system_prompt="", name="B", agent_version=1)
    assert [n.name for n in view.global_nodes()] == ["help"]
    assert view.nodes["main"].is_global is False and view.nodes["help"].tools == ()
    assert view.version == 1


def test_methods_default_as_the_sdk_reads_them() -> None:
    bare_tool = {"name": "ping", "url": "https://x.example/"}
    bare_hook = node("hook", "WebhookNode", webhook={"url": "https://x.example/"})
    g = graph(
        [node("helper", "SubagentNode", subagent={"webhooks": [bare_tool]}), bare_hook],
        [edge(START, "helper"), edge("helper", "hook")],
    )
    view = to_view(g, system_prompt="", name="B", agent_version=1)
    assert view.nodes["helper"].tools[0].config["method"] == "POST"
    assert view.nodes["hook"].tools[0].config["method"] == "GET"
    lower = graph(
        [webhook_node("w", "https://x.example/", http_method="patch")], [edge(START, "w")]
    )
    assert (
        to_view(lower, system_prompt="", name="B", agent_version=1)
        .nodes["w"]
        .tools[0]
        .config["method"]
        == "PATCH"
    )
