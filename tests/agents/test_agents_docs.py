"""The Agents API in the OpenAPI document: its routes, and the graph's documented shape."""

from __future__ import annotations

from typing import Any

import httpx

OPERATIONS = {
    "/api/v1/agents": {"get", "post"},
    "/api/v1/agents/{agent_id}": {"get", "patch"},
    "/api/v1/agents/{agent_id}/graph": {"get"},
    "/api/v1/agents/{agent_id}/agent_snapshots": {"post"},
    "/api/v1/agent_snapshots/{snapshot_id}": {"get"},
    "/api/v1/agents/{agent_id}/agent_whatsapp_configs": {"get", "post"},
    "/api/v1/agents/{agent_id}/agent_whatsapp_configs/{link_id}": {"get", "put", "delete"},
}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


async def test_the_agent_routes_and_the_sdk_graph_shape_are_documented(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path, methods in OPERATIONS.items():
        assert methods == set(schema["paths"][path]) & {"get", "post", "patch", "put", "delete"}
    fields = schema["components"]["schemas"]["AgentCreateFields"]["properties"]
    documented = next(o for o in fields["graph"]["anyOf"] if o.get("type") != "null")
    graph = _resolve(schema, documented)
    node = _resolve(schema, graph["properties"]["nodes"]["items"])
    assert {"name", "type", "global", "global_condition", "webhook", "subagent"} <= set(
        node["properties"]
    )
    edge = _resolve(schema, graph["properties"]["edges"]["items"])
    assert {"from", "to", "condition", "label"} <= set(edge["properties"])
