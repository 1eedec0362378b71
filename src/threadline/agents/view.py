"""A stored graph (an agent's or a snapshot's) as the interpreter's view of it.

Pure: no session, no I/O. Tools that reach out become :class:`ExternalTool` with the
config their job needs, the JSON-encoded strings the SDK sends already decoded:

- a WebhookNode, and each subagent webhook, is ``kind="webhook"``, named
  ``<name>_request`` (Kapso's), its parameters the ``#{placeholders}`` of the URL,
  headers and method (and of the body, without a ``body_schema``) plus the schema's
  properties;
- a KnowledgeBaseNode, or a subagent's knowledge bases, is one ``kb_retrieval`` tool
  (``kind="knowledge_base"``) whose ``knowledge_base_key`` picks among them;
- each tool an MCP server offers (discovered by the caller, passed as ``mcp_tools`` by
  server URL) is ``kind="mcp"``, named ``<server>__<tool>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from threadline.agent_tools.webhook import webhook_parameters
from threadline.agents.graph import (
    END,
    START,
    GraphDoc,
    GraphNode,
    KnowledgeBaseConfig,
    McpServerTool,
    WebhookConfig,
    WhatsappTemplateConfig,
    decoded,
)
from threadline.engine.agent.graph import (
    AgentEdge,
    AgentGraph,
    AgentNode,
    ExternalTool,
    TemplateOption,
)
from threadline.llm.types import ToolSpec

KB_TOOL = "kb_retrieval"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
#: Tools each MCP server offers, by :func:`mcp_key` (discovered by the caller).
McpTools = Mapping[str, Sequence[ToolSpec]]


def to_view(
    agent_or_snapshot_graph: dict[str, Any],
    *,
    system_prompt: str,
    name: str,
    agent_version: int,
    mcp_tools: McpTools | None = None,
) -> AgentGraph:
    """The interpreter's :class:`AgentGraph` of a stored (validated) graph."""
    doc = GraphDoc.model_validate(agent_or_snapshot_graph)
    discovered = mcp_tools or {}
    nodes = {n.name: _node(n, discovered) for n in doc.nodes if n.name not in (START, END)}
    edges = tuple(AgentEdge(e.source, e.target, e.when) for e in doc.edges)
    version: Literal[1, 2] = 2 if agent_version == 2 else 1
    return AgentGraph(name, system_prompt, nodes, edges, version=version)


def _node(node: GraphNode, mcp_tools: McpTools) -> AgentNode:
    return AgentNode(
        name=node.name,
        type=node.type,
        prompt=node.prompt or "",
        is_global=node.is_global,
        global_condition=node.global_condition if node.is_global else None,
        tools=_tools(node, mcp_tools),
        templates=_templates(node),
        warm_end_minutes=node.warm_end.timeout_minutes if node.warm_end else None,
    )


def _tools(
    node: GraphNode, mcp_tools: Mapping[str, Sequence[ToolSpec]]
) -> tuple[ExternalTool, ...]:
    tools: list[ExternalTool] = []
    if node.type == "WebhookNode" and node.webhook is not None:
        default = f"Execute the API request for the '{node.name}' step."
        tools.append(webhook_tool(f"{safe(node.name)}_request", default, node.webhook))
    if node.type == "KnowledgeBaseNode" and node.knowledge_base is not None:
        kb = node.knowledge_base
        tools.append(knowledge_base_tool([(kb.key or f"kb_{node.name}", kb)]))
    if node.type == "SubagentNode" and node.subagent is not None:
        tools.extend(_subagent_tools(node, mcp_tools))
    return tuple(tools)


def _subagent_tools(
    node: GraphNode, mcp_tools: Mapping[str, Sequence[ToolSpec]]
) -> list[ExternalTool]:
    assert node.subagent is not None
    sub = node.subagent
    tools = [
        webhook_tool(f"{safe(w.name)}_request", w.description or f"Call {w.name}.", _posting(w))
        for w in sub.webhooks
    ]
    if sub.knowledge_bases:
        tools.append(knowledge_base_tool([(kb.key or kb.name, kb) for kb in sub.knowledge_bases]))
    for server in sub.mcp_servers:
        offered = mcp_tools.get(mcp_key(server.url, server.headers), ())
        tools.extend(mcp_server_tools(server, offered))
    return tools


def _posting(webhook: WebhookConfig) -> WebhookConfig:
    """A subagent webhook's method defaults to POST (a WebhookNode's to GET), as the SDK's."""
    if "http_method" in webhook.model_fields_set:
        return webhook
    return webhook.model_copy(update={"http_method": "POST"})


def safe(name: str) -> str:
    """A tool-name-safe spelling of ``name``."""
    return _UNSAFE.sub("_", name)


def webhook_tool(name: str, description: str, config: WebhookConfig) -> ExternalTool:
    """A webhook as a tool; its config is the request to make (see the module doc)."""
    schema = decoded(config.body_schema)
    job = {
        "url": config.url,
        "method": config.http_method.upper(),
        "headers": decoded(config.headers),
        "body": decoded(config.body),
        "body_schema": schema,
        "jmespath_query": config.jmespath_query,
        "mock_response_enabled": config.mock_response_enabled,
        "mock_response": decoded(config.mock_response),
    }
    arguments = {**job, "http_method": job["method"]}
    arguments["body_schema"] = schema if isinstance(schema, dict) else None
    parameters = webhook_parameters(arguments)
    return ExternalTool("webhook", ToolSpec(name, description, parameters), job)


def knowledge_base_tool(bases: list[tuple[str, KnowledgeBaseConfig]]) -> ExternalTool:
    """One ``kb_retrieval`` over ``bases`` (``(key, config)``), the key chosen by the model."""
    keys = [key for key, _ in bases]
    parameters = {
        "type": "object",
        "properties": {
            "queries": {"type": "array", "items": {"type": "string"}},
            "knowledge_base_key": {"type": "string", "enum": keys},
        },
        "required": ["queries"],
    }
    listed = "; ".join(f"{key}: {kb.description}" if kb.description else key for key, kb in bases)
    spec = ToolSpec(KB_TOOL, f"Search a knowledge base ({listed}).", parameters)
    config = {"knowledge_bases": [_kb_config(key, kb) for key, kb in bases]}
    return ExternalTool("knowledge_base", spec, config)


def _kb_config(key: str, kb: KnowledgeBaseConfig) -> dict[str, Any]:
    return {
        "key": key,
        "name": kb.name,
        "description": kb.description,
        "knowledge_base_text": kb.knowledge_base_text,
        "knowledge_base_file": kb.knowledge_base_file,
    }


def mcp_key(url: str, headers: Any = None) -> str:
    """Under which key a server's discovered tools are kept: its URL and, when it is
    called with headers (credentials), their digest, so one project's credentials never
    show another project what they were shown."""
    sent = decoded(headers)
    if not sent:
        return url
    digest = hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()[:16]
    return f"{url}#{digest}"


def mcp_server_tools(server: McpServerTool, offered: Sequence[ToolSpec]) -> list[ExternalTool]:
    """The tools ``server`` offers (as discovered), each named ``<server>__<tool>``."""
    queries = {q.tool_name: q.jmespath_query for q in server.jmespath_queries}
    headers = decoded(server.headers)
    sent = {"headers": headers} if headers else {}
    return [
        ExternalTool(
            "mcp",
            ToolSpec(f"{safe(server.name)}__{tool.name}", tool.description, tool.parameters),
            {
                "server": server.name,
                "url": server.url,
                "transport": server.transport_kind,
                "tool_name": tool.name,
                "jmespath_query": queries.get(tool.name),
                **sent,
            },
        )
        for tool in offered
    ]


def _templates(node: GraphNode) -> tuple[TemplateOption, ...]:
    if node.type == "WhatsappTemplateNode" and node.whatsapp_template is not None:
        return (_template(node.whatsapp_template),)
    if node.type == "SubagentNode" and node.subagent is not None:
        return tuple(_template(t) for t in node.subagent.whatsapp_templates)
    return ()


def _template(config: WhatsappTemplateConfig) -> TemplateOption:
    return TemplateOption(
        template_name=config.template_name,
        phone_number=config.phone_number,
        parameters=dict(config.template_parameters or {}),
        wait_for_response=config.wait_for_response,
        whatsapp_config_id=config.whatsapp_config_id,
        description=config.description,
    )
