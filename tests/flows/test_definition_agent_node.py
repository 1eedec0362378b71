"""A flow's ``agent`` node as the builder SDK emits it: accepted, round-tripped, its
problems listed at once with node and field; and the agent graph the runtime runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from definition_samples import (
    Expected,
    add_after_reply,
    assert_problems,
    base,
    edge,
    node,
    problems_of,
)

from threadline.agents.flow_agent import flow_agent_graph
from threadline.agents.view import mcp_key, to_view
from threadline.flows.agent_config import AgentConfig
from threadline.flows.definition import validate_definition
from threadline.flows.node_configs import parse_node_config
from threadline.llm.types import ToolSpec

MODEL = "claude-sonnet-4-20250514"


def sdk_agent_config(**overrides: Any) -> dict[str, Any]:
    """An ``AgentNode`` config exactly as the SDK serialises it (JSON strings included)."""
    config: dict[str, Any] = {
        "system_prompt": "You are a customer service agent. Help with orders.",
        "provider_model_name": MODEL,
        "temperature": 0.1,
        "max_iterations": 10,
        "max_tokens": 2000,
        "reasoning_effort": "medium",
        "flow_agent_webhooks": [
            {
                "name": "check_order",
                "description": "Get order status by ID",
                "url": "https://api.store.com/orders/{{order_id}}",
                "http_method": "GET",
                "headers": "{}",
                "body": "{}",
                "body_schema": '{"type":"object","properties":{},"required":[]}',
                "jmespath_query": None,
            },
            {
                "name": "create_support_ticket",
                "description": "Create a support ticket",
                "url": "https://api.support.com/tickets",
                "http_method": "POST",
                "headers": json.dumps({"Authorization": "Bearer {{vars.token}}"}),
                "body": json.dumps({"body": "{{last_user_input}}", "priority": "high"}),
                "body_schema": json.dumps(
                    {"type": "object", "properties": {"subject": {"type": "string"}}}
                ),
                "jmespath_query": "data.ticket_id",
            },
        ],
        "flow_agent_mcp_servers": [
            {
                "name": "Context Server",
                "description": "Docs",
                "url": "https://mcp.context7.ai/v1",
                "headers": json.dumps({"Authorization": "Bearer token123"}),
            }
        ],
        "flow_agent_knowledge_bases": [
            {"name": "faq", "description": "Returns", "knowledge_base_text": "Free returns."}
        ],
    }
    return config | overrides


def test_the_sdk_agent_node_is_accepted_and_kept_verbatim() -> None:
    raw = base()
    add_after_reply(node("x", "agent", sdk_agent_config()))(raw)
    definition = validate_definition(raw)
    bot = definition.node("x")
    assert isinstance(bot.config, AgentConfig)
    assert bot.raw_config == sdk_agent_config()
    webhook = bot.config.flow_agent_webhooks[1]
    assert webhook.headers == {"Authorization": "Bearer {{vars.token}}"}
    assert webhook.body == {"body": "{{last_user_input}}", "priority": "high"}
    assert bot.config.flow_agent_mcp_servers[0].headers == {"Authorization": "Bearer token123"}


def test_an_agent_node_may_leave_by_error() -> None:
    raw = base()
    add_after_reply(node("x", "agent", sdk_agent_config()))(raw)
    raw["nodes"].append(node("sorry", "send_text", {"message": "Sorry"}))
    raw["edges"].append(edge("x", "sorry", "error"))
    sorry = validate_definition(raw).next_node_id("x", "error")
    assert sorry == "sorry"


BAD = [
    pytest.param(
        {"system_prompt": "", "provider_model_name": ""},
        [
            ("x", "config.system_prompt", "at least 1 character"),
            ("x", "config.provider_model_name", "at least 1 character"),
        ],
        id="empty-prompt-and-model",
    ),
    pytest.param(
        {"temperature": 3, "max_iterations": 0, "reasoning_effort": "extreme"},
        [
            ("x", "config.temperature", "less than or equal to 2"),
            ("x", "config.max_iterations", "greater than or equal to 1"),
            ("x", "config.reasoning_effort", "'low', 'medium' or 'high'"),
        ],
        id="settings",
    ),
    pytest.param(
        {
            "flow_agent_webhooks": [
                {"name": "has space", "url": "{{host}}/x", "headers": "[1]", "body_schema": "{"}
            ]
        },
        [
            ("x", "config.flow_agent_webhooks[0].name", "a tool's name"),
            ("x", "config.flow_agent_webhooks[0].url", "must start with http"),
            ("x", "config.flow_agent_webhooks[0].headers", "must be a JSON object"),
            ("x", "config.flow_agent_webhooks[0].body_schema", "must be a JSON object"),
        ],
        id="webhook",
    ),
    pytest.param(
        {
            "flow_agent_knowledge_bases": [
                {"name": "faq", "knowledge_base_text": "a"},
                {"name": "faq", "knowledge_base_text": ""},
            ]
        },
        [
            ("x", "config.flow_agent_knowledge_bases[1].knowledge_base_text", "at least 1"),
        ],
        id="empty-knowledge-base",
    ),
    pytest.param(
        {
            "flow_agent_knowledge_bases": [
                {"name": "faq", "knowledge_base_text": "a"},
                {"name": "faq", "knowledge_base_text": "b"},
            ]
        },
        [("x", "config.flow_agent_knowledge_bases", "duplicate names: faq")],
        id="duplicate-names",
    ),
    pytest.param(
        {"flow_agent_mcp_servers": [{"name": "docs", "url": "ftp://docs"}]},
        [("x", "config.flow_agent_mcp_servers[0].url", "must start with http")],
        id="mcp-url",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD)
def test_every_problem_of_an_agent_node_is_listed(
    overrides: dict[str, Any], expected: list[Expected]
) -> None:
    raw = base()
    add_after_reply(node("x", "agent", sdk_agent_config(**overrides)))(raw)
    assert_problems(problems_of(raw), expected)


def test_the_runtime_graph_has_the_nodes_tools_and_the_way_back() -> None:
    config = parse_node_config("agent", sdk_agent_config())
    assert isinstance(config, AgentConfig)
    graph = flow_agent_graph("bot", config)
    docs = [ToolSpec("search", "Search", {"type": "object", "properties": {}})]
    url, token = "https://mcp.context7.ai/v1", {"Authorization": "Bearer token123"}
    # Tools are discovered per server and credentials: another token's are not these.
    assert mcp_key(url, token) != mcp_key(url, {"Authorization": "Bearer other"}) != url
    view = to_view(
        graph,
        system_prompt=config.system_prompt,
        name="bot",
        agent_version=2,
        mcp_tools={mcp_key(url, token): docs, url: [ToolSpec("other", "", {})]},
    )
    assert view.start_node() == "bot"
    assert [n.name for n in view.next_nodes("bot")] == ["__end__"]
    tools = {tool.spec.name: tool for tool in view.node("bot").tools}
    assert set(tools) == {
        "check_order_request",
        "create_support_ticket_request",
        "kb_retrieval",
        "Context_Server__search",
    }
    check = tools["check_order_request"]
    assert check.config["url"] == "https://api.store.com/orders/#{order_id}"
    assert check.spec.parameters["required"] == ["order_id"]
    ticket = tools["create_support_ticket_request"]
    # Flow values come from the execution, never from the model.
    assert ticket.config["headers"] == {"Authorization": "Bearer #{vars.token}"}
    assert ticket.config["body"] == {"body": "#{system.last_user_input}", "priority": "high"}
    assert list(ticket.spec.parameters["properties"]) == ["subject"]
    mcp = tools["Context_Server__search"]
    assert mcp.config["headers"] == {"Authorization": "Bearer token123"}
