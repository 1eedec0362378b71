"""The tools of the MCP servers an agent's graph names, discovered and remembered.

The interpreter must know every tool the model may call, so an agent version's view
includes each server's tools (``agents.view.to_view(mcp_tools=...)``). Discovering them
is I/O, which never happens inside a transaction: the model call job :func:`refresh`\\ es
the servers of its version first (outside any session), and building the view reads
only what this process remembers (:func:`known`). A server that cannot be listed
offers no tools for a short while, so an unreachable server costs one attempt per
:data:`FAILED_TTL_SECONDS`, not one per model call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from threadline.agent_tools.result import ToolError
from threadline.agents.view import mcp_key
from threadline.kit.resources import Resources
from threadline.llm.types import ToolSpec

log = logging.getLogger("threadline.agents")

TTL_SECONDS = 300.0
FAILED_TTL_SECONDS = 30.0
_known: dict[str, tuple[float, tuple[ToolSpec, ...]]] = {}


def server_key(server: Mapping[str, Any]) -> str:
    """The key of ``server``'s discovered tools (:func:`threadline.agents.view.mcp_key`)."""
    return mcp_key(str(server["url"]), server.get("headers"))


def servers_of(graph: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every MCP server a stored graph's subagents name (each URL and headers once)."""
    found: dict[str, dict[str, Any]] = {}
    for node in graph.get("nodes") or []:
        subagent = node.get("subagent") if isinstance(node, dict) else None
        for server in (subagent or {}).get("mcp_servers") or []:
            if isinstance(server, dict) and isinstance(server.get("url"), str):
                found.setdefault(server_key(server), server)
    return list(found.values())


def client_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the MCP client needs of a server (as the graph or a tool's config names it)."""
    transport = config.get("transport_kind") or config.get("transport") or "streamable_http"
    found = {"url": config["url"], "transport_kind": transport}
    if config.get("headers"):
        found["headers"] = config["headers"]
    if config.get("tool_name") and config.get("jmespath_query"):
        query = {"tool_name": config["tool_name"], "jmespath_query": config["jmespath_query"]}
        found["jmespath_queries"] = [query]
    elif config.get("jmespath_queries"):
        found["jmespath_queries"] = config["jmespath_queries"]
    return found


def known(servers: Iterable[Mapping[str, Any]]) -> dict[str, tuple[ToolSpec, ...]]:
    """The tools remembered for ``servers``, by :func:`server_key` (no I/O; an unknown
    server offers none)."""
    keys = [server_key(server) for server in servers]
    return {key: _known[key][1] for key in keys if key in _known}


async def refresh(resources: Resources, servers: Sequence[Mapping[str, Any]]) -> None:
    """List the tools of every server not listed recently."""
    now = time.monotonic()
    for server in servers:
        key = server_key(server)
        if key in _known and _known[key][0] > now:
            continue
        _known[key] = await _listed(resources, server, now)


async def _listed(
    resources: Resources, server: Mapping[str, Any], now: float
) -> tuple[float, tuple[ToolSpec, ...]]:
    from threadline.agent_tools import mcp_client  # the SDK is imported on first use

    try:
        tools = await mcp_client.list_mcp_tools(client_config(server), http=resources.calls)
    except ToolError as error:
        log.warning("MCP server %s offers no tools for now: %s", server.get("url"), error)
        return now + FAILED_TTL_SECONDS, ()
    return now + TTL_SECONDS, tuple(tools)
