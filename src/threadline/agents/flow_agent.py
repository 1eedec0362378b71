"""A flow's ``agent`` node as an agent graph, so the agent interpreter runs it unchanged.

The node becomes a graph of one ``SubagentNode`` (named after the flow node) holding the
node's webhooks, knowledge bases and MCP servers, with the end after it: the agent
converses until it moves to the end or stops, and the flow carries on. The graph has
the stored shape of the Agents API (:mod:`.graph`), so :func:`.view.to_view` and the
MCP discovery read it as they read any agent's.

A flow webhook's ``{{...}}`` placeholders become the agent tools' ``#{...}``: a plain
name (``{{order_id}}``) is an argument the model fills; ``{{vars.x}}``, ``{{system.x}}``,
``{{context.x}}`` and ``{{last_user_input}}`` are read from the execution when the call
is made, never asked of the model.
"""

from __future__ import annotations

import re
from typing import Any

from threadline.agents.graph import END, START
from threadline.flows.agent_config import (
    AgentConfig,
    FlowAgentKnowledgeBase,
    FlowAgentMcpServer,
    FlowAgentWebhook,
)

#: What the step prompt says of the end: the agent's way back to the flow.
DONE = "the task is done or the person wants something this step cannot do"
STEP_PROMPT = (
    "Do what the general instructions ask, in as many turns as it takes. When "
    f"it is done, move to {END} to hand the conversation back."
)
_FLOW_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def flow_agent_graph(node_id: str, config: AgentConfig) -> dict[str, Any]:
    """The agent graph (stored shape) of the flow node ``node_id`` with ``config``."""
    node = {
        "name": node_id,
        "type": "SubagentNode",
        "prompt": STEP_PROMPT,
        "subagent": {
            "webhooks": [_webhook(w) for w in config.flow_agent_webhooks],
            "knowledge_bases": [_knowledge_base(kb) for kb in config.flow_agent_knowledge_bases],
            "mcp_servers": [_mcp_server(s) for s in config.flow_agent_mcp_servers],
        },
    }
    edges = [{"from": START, "to": node_id}, {"from": node_id, "to": END, "condition": DONE}]
    return {"nodes": [{"name": START}, node, {"name": END}], "edges": edges}


def _placeholder(match: re.Match[str]) -> str:
    name = match.group(1)
    if name == "last_user_input":
        return "#{system.last_user_input}"
    return "#{" + name + "}"


def agent_placeholders(value: Any) -> Any:
    """``value`` with every ``{{name}}`` written ``#{name}`` (inside strings, lists, objects)."""
    if isinstance(value, str):
        return _FLOW_PLACEHOLDER.sub(_placeholder, value)
    if isinstance(value, list):
        return [agent_placeholders(item) for item in value]
    if isinstance(value, dict):
        return {key: agent_placeholders(item) for key, item in value.items()}
    return value


def _webhook(webhook: FlowAgentWebhook) -> dict[str, Any]:
    return {
        "name": webhook.name,
        "description": webhook.description or f"Call {webhook.name}.",
        "url": agent_placeholders(webhook.url),
        "http_method": webhook.http_method,
        "headers": agent_placeholders(webhook.headers),
        "body": agent_placeholders(webhook.body),
        "body_schema": webhook.body_schema,
        "jmespath_query": webhook.jmespath_query,
    }


def _knowledge_base(kb: FlowAgentKnowledgeBase) -> dict[str, Any]:
    return {
        "name": kb.name,
        "key": kb.name,
        "description": kb.description,
        "knowledge_base_text": kb.knowledge_base_text,
    }


def _mcp_server(server: FlowAgentMcpServer) -> dict[str, Any]:
    return {
        "name": server.name,
        "description": server.description,
        "url": server.url,
        "transport_kind": "streamable_http",
        "headers": server.headers,
    }
