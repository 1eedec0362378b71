"""Typed builders of agent graph JSON, shaped as Kapso's builder SDK serializes it.

Each node carries ``id = name`` and each edge ``id = "<from>_to_<to>"`` (as the CLI
assigns them); webhook ``headers``/``body``/``body_schema``/``mock_response`` are JSON
*strings*, and an edge's condition is written under both ``condition`` and ``label``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from builders import TestProject
from threadline.engine.agent.graph import END, START

Json = dict[str, Any]


def _encoded(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _clean(value: Json) -> Json:
    """Drop ``None`` values, as the SDK's ``_clean_dict`` does."""
    return {k: v for k, v in value.items() if v is not None}


def node(
    name: str,
    type: str = "DefaultNode",
    *,
    prompt: str | None = None,
    global_condition: str | None = None,
    **blocks: Any,
) -> Json:
    """A node of ``type`` with its config ``blocks`` (``webhook=...``, ``warm_end=...``);
    global when it has a ``global_condition``."""
    body = {
        "name": name,
        "type": type,
        "prompt": prompt,
        "global": global_condition is not None,
        "global_condition": global_condition,
        **blocks,
        "id": name,
    }
    return _clean(body)


def webhook_config(
    url: str,
    *,
    http_method: str = "POST",
    headers: Json | None = None,
    body: Json | None = None,
    body_schema: Json | None = None,
    jmespath_query: str | None = None,
    mock_response: Json | None = None,
) -> Json:
    """A webhook block, its JSON fields encoded as strings."""
    return _clean(
        {
            "url": url,
            "http_method": http_method,
            "jmespath_query": jmespath_query,
            "mock_response_enabled": mock_response is not None,
            "headers": _encoded(headers),
            "body": _encoded(body),
            "body_schema": _encoded(body_schema),
            "mock_response": _encoded(mock_response),
        }
    )


def webhook_node(name: str, url: str, *, prompt: str = "Call the API", **config: Any) -> Json:
    """A WebhookNode."""
    return node(name, "WebhookNode", prompt=prompt, webhook=webhook_config(url, **config))


def knowledge_base_node(name: str, text: str, *, prompt: str = "Answer from it") -> Json:
    """A KnowledgeBaseNode."""
    return node(
        name, "KnowledgeBaseNode", prompt=prompt, knowledge_base={"knowledge_base_text": text}
    )


def handoff_node(name: str = "human", *, condition: str = "the user asks for a person") -> Json:
    """A global HandoffNode."""
    return node(name, "HandoffNode", global_condition=condition, handoff={})


def warm_end_node(name: str = "bye", *, minutes: int = 30, prompt: str = "Say bye") -> Json:
    """A WarmEndNode."""
    return node(name, "WarmEndNode", prompt=prompt, warm_end={"timeout_minutes": minutes})


def template_config(template_name: str = "hello", phone_number: str = "+15550001111") -> Json:
    """A whatsapp_template block."""
    return {
        "template_name": template_name,
        "phone_number": phone_number,
        "template_parameters": {"1": "Ana"},
        "wait_for_response": False,
    }


def template_node(name: str = "tpl", **config: Any) -> Json:
    """A WhatsappTemplateNode."""
    return node(name, "WhatsappTemplateNode", whatsapp_template=template_config(**config))


def webhook_tool(name: str, url: str, *, description: str = "", **config: Any) -> Json:
    """A subagent's webhook tool (``http_method`` defaults to POST, as the SDK's)."""
    return {"name": name, "description": description, **webhook_config(url, **config)}


def knowledge_base_tool(name: str, text: str, *, description: str = "") -> Json:
    """A subagent's knowledge base."""
    return {"name": name, "description": description, "knowledge_base_text": text}


def mcp_tool(
    name: str,
    url: str,
    *,
    queries: dict[str, str] | None = None,
    transport: str = "streamable_http",
) -> Json:
    """A subagent's MCP server, with JMESPath queries by tool name."""
    return {
        "name": name,
        "description": "",
        "url": url,
        "transport_kind": transport,
        "jmespath_queries": [
            {"tool_name": tool, "jmespath_query": query} for tool, query in (queries or {}).items()
        ],
    }


def template_tool(name: str, template_name: str = "promo_v1", *, wait: bool = True) -> Json:
    """A subagent's WhatsApp template."""
    return {
        "name": name,
        "description": f"Send {template_name}",
        "template_name": template_name,
        "phone_number": "{{phone}}",
        "wait_for_response": wait,
        "template_parameters": {"1": "x"},
    }


def subagent_node(
    name: str,
    *,
    prompt: str = "Help the user",
    webhooks: list[Json] | None = None,
    knowledge_bases: list[Json] | None = None,
    mcp_servers: list[Json] | None = None,
    whatsapp_templates: list[Json] | None = None,
    global_condition: str | None = None,
) -> Json:
    """A SubagentNode with its tools."""
    subagent = {
        "webhooks": webhooks or [],
        "knowledge_bases": knowledge_bases or [],
        "mcp_servers": mcp_servers or [],
        "whatsapp_templates": whatsapp_templates or [],
    }
    return node(
        name, "SubagentNode", prompt=prompt, global_condition=global_condition, subagent=subagent
    )


def edge(source: str, target: str, condition: str | None = None) -> Json:
    """An edge; a condition is written under ``condition`` and ``label``."""
    body: Json = {"from": source, "to": target}
    if condition is not None:
        body |= {"condition": condition, "label": condition}
    return body | {"id": f"{source}_to_{target}"}


def graph(nodes: list[Json], edges: list[Json]) -> Json:
    """A graph with the SDK's ``__start__`` and ``__end__`` nodes around ``nodes``."""
    ends = [node(START, prompt=""), *nodes, node(END, prompt="")]
    return {"nodes": ends, "edges": edges}


def support_graph(*, mcp_url: str = "http://127.0.0.1:9/mcp") -> Json:
    """Every node type: start → helper (subagent with every tool kind) → (done) bye → end,
    helper → create_ticket → kb → tpl → end, and a global ``human`` handoff."""
    helper = subagent_node(
        "helper",
        webhooks=[
            webhook_tool(
                "get_order",
                "https://api.example.com/orders/#{order_id}",
                http_method="GET",
                headers={"Authorization": "Bearer k"},
                jmespath_query="data.status",
                description="Look an order up",
            )
        ],
        knowledge_bases=[knowledge_base_tool("faq", "Hours 9-5", description="Opening hours")],
        mcp_servers=[mcp_tool("docs", mcp_url, queries={"search": "results[0]"})],
        whatsapp_templates=[template_tool("promo")],
    )
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    nodes = [
        helper,
        webhook_node("create_ticket", "https://api.example.com/t", body_schema=schema),
        knowledge_base_node("kb", "abc"),
        handoff_node(),
        warm_end_node(),
        template_node(),
    ]
    edges = [
        edge(START, "helper"),
        edge("helper", "bye", "done"),
        edge("helper", "create_ticket", "the user wants a ticket"),
        edge("create_ticket", "kb"),
        edge("kb", "tpl"),
        edge("tpl", END),
        edge("bye", END),
    ]
    return graph(nodes, edges)


def simple_graph() -> Json:
    """start → greet → end."""
    return graph(
        [node("greet", prompt="Greet the user")], [edge(START, "greet"), edge("greet", END)]
    )


def agent_body(name: str = "Support Bot", graph_json: Json | None = None, **fields: Any) -> Json:
    """``{"agent": {...}}`` as the CLI sends it (``system_prompt`` and debounce included)."""
    agent: Json = {"name": name, "system_prompt": "Be nice", "message_debounce_seconds": 3}
    if graph_json is not None:
        agent["graph"] = graph_json
    return {"agent": agent | fields}


async def push_agent(
    client: httpx.AsyncClient, project: TestProject, body: Json
) -> tuple[httpx.Response, httpx.Response]:
    """``kapso push`` of a new agent: POST, then PATCH the same full payload."""
    created = await client.post("/api/v1/agents", headers=project.headers, json=body)
    assert created.status_code == 201, created.text
    agent_id = created.json()["data"]["id"]
    patched = await client.patch(f"/api/v1/agents/{agent_id}", headers=project.headers, json=body)
    return created, patched
