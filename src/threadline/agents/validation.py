"""The rules an agent graph must satisfy, checked on the raw JSON, every problem at once.

Checking the raw JSON (not parsed models) lets one pass report each problem with the
node it belongs to and the path of the offending field. The rules are the builder
SDK's own (names, configs per type, global conditions, edge ends, tool names unique
within a node) plus what the runtime needs: every node reachable from the start, a
``body_schema`` that is a JSON Schema, and MCP servers the egress policy allows
(``kit.egress``: no loopback, private or link-local hosts unless allowed).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from threadline.agents.checks import Checker, Problem, check_knowledge_base, check_template
from threadline.agents.graph import END, NODE_CONFIG_KEYS, NODE_TYPES, START, GraphDoc
from threadline.errors import Unprocessable
from threadline.kit.egress import EgressPolicy, url_refusal

NAME = re.compile(r"^[A-Za-z0-9_]+$")
_SUMMARY_LIMIT = 10


class GraphInvalid(Unprocessable):
    """The agent graph is invalid."""

    error = "Invalid agent graph"

    def __init__(self, problems: Sequence[Problem], *, where: str) -> None:
        self.problems = list(problems)
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        shown = "; ".join(str(p) for p in self.problems[:_SUMMARY_LIMIT])
        summary = f"{count}: {shown}"
        errors = [p.as_dict(where) for p in self.problems]
        super().__init__(summary, details=summary, errors=errors)


def check_graph(raw: object) -> Checker:
    """Every structural problem of ``raw`` (egress is :func:`validate_graph`'s)."""
    checker = Checker()
    graph = checker.mapping(None, "graph", raw)
    if graph is None:
        return checker
    nodes = checker.listing(None, "nodes", graph.get("nodes"))
    names = _check_nodes(checker, nodes)
    edges = checker.listing(None, "edges", graph.get("edges"))
    links = _check_edges(checker, edges, names)
    _check_reachable(checker, nodes, links)
    return checker


def _check_nodes(checker: Checker, nodes: list[Any]) -> set[str]:
    names: set[str] = set()
    for index, raw in enumerate(nodes):
        node = checker.mapping(None, f"nodes[{index}]", raw)
        if node is not None:
            name = _check_name(checker, f"nodes[{index}]", node.get("name"), names)
            _check_node(checker, f"nodes[{index}]", name, node)
    return names


def _check_name(checker: Checker, path: str, name: Any, names: set[str]) -> str | None:
    if not isinstance(name, str) or not name:
        checker.add(None, f"{path}.name", "is required")
        return None
    if name not in (START, END) and not NAME.match(name):
        checker.add(name, f"{path}.name", "may contain only letters, digits and _")
    if name in names:
        checker.add(name, f"{path}.name", "is the name of another node")
    names.add(name)
    return name


def _check_node(checker: Checker, path: str, name: str | None, node: Mapping[str, Any]) -> None:
    kind = node.get("type", "DefaultNode")
    if kind not in NODE_TYPES:
        checker.add(name, f"{path}.type", f"must be one of {', '.join(NODE_TYPES)}")
    checker.text(name, f"{path}.id", node.get("id"), required=False)
    checker.text(name, f"{path}.prompt", node.get("prompt"), required=False)
    _check_global(checker, path, name, node)
    key = NODE_CONFIG_KEYS.get(kind) if isinstance(kind, str) else None
    if key is not None and node.get(key) is None:
        checker.add(name, f"{path}.{key}", f"a {kind} needs its {key} config")
    elif key is not None:
        _check_config(checker, name, f"{path}.{key}", key, node[key])
    if kind == "SubagentNode" and node.get("subagent") is not None:
        _check_subagent(checker, name, f"{path}.subagent", node["subagent"])


def _check_global(checker: Checker, path: str, name: str | None, node: Mapping[str, Any]) -> None:
    is_global, condition = node.get("global", False), node.get("global_condition")
    checker.boolean(name, f"{path}.global", is_global)
    if is_global is True:
        checker.text(name, f"{path}.global_condition", condition, required=True)
    elif condition not in (None, ""):
        checker.add(name, f"{path}.global_condition", "only a global node has one")


def _check_config(checker: Checker, name: str | None, path: str, key: str, raw: Any) -> None:
    if key == "webhook":
        checker.webhook(name, path, raw)
        return
    config = checker.mapping(name, path, raw)
    if config is None:
        return
    if key == "knowledge_base":
        check_knowledge_base(checker, name, path, config)
    elif key == "warm_end":
        minutes = config.get("timeout_minutes", 60)
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            checker.add(name, f"{path}.timeout_minutes", "must be a whole number of minutes >= 1")
    else:
        check_template(checker, name, path, config)


#: A subagent's tool lists, and how each entry is checked beyond its name.
_TOOL_KINDS = ("webhooks", "knowledge_bases", "mcp_servers", "whatsapp_templates")


def _check_subagent(checker: Checker, name: str | None, path: str, raw: Any) -> None:
    config = checker.mapping(name, path, raw)
    if config is None:
        return
    seen: set[str] = set()
    for kind in _TOOL_KINDS:
        for index, item in enumerate(checker.listing(name, f"{path}.{kind}", config.get(kind))):
            _check_tool(checker, name, f"{path}.{kind}[{index}]", kind, item, seen)


def _check_tool(
    checker: Checker, name: str | None, path: str, kind: str, raw: Any, seen: set[str]
) -> None:
    tool = checker.mapping(name, path, raw)
    if tool is None:
        return
    _check_tool_name(checker, name, f"{path}.name", tool.get("name"), seen)
    checker.text(name, f"{path}.description", tool.get("description"), required=False)
    if kind == "webhooks":
        checker.webhook(name, path, tool)
    elif kind == "knowledge_bases":
        check_knowledge_base(checker, name, path, tool)
    elif kind == "whatsapp_templates":
        check_template(checker, name, path, tool)
    else:
        _check_mcp(checker, name, path, tool)


def _check_tool_name(
    checker: Checker, name: str | None, path: str, value: Any, seen: set[str]
) -> None:
    if not checker.text(name, path, value, required=True):
        return
    if not NAME.match(value):
        checker.add(name, path, "may contain only letters, digits and _")
    if value in seen:
        checker.add(name, path, "is the name of another tool of this node")
    seen.add(value)


def _check_mcp(checker: Checker, name: str | None, path: str, server: Mapping[str, Any]) -> None:
    if server.get("command") is not None or server.get("transport_kind") == "stdio":
        checker.add(name, path, "stdio MCP servers are not allowed, only remote ones")
    checker.mcp_url(name, f"{path}.url", server.get("url"))
    transport = server.get("transport_kind")
    if transport is not None and transport not in ("streamable_http", "sse", "stdio"):
        checker.add(name, f"{path}.transport_kind", "must be streamable_http or sse")
    queries = checker.listing(name, f"{path}.jmespath_queries", server.get("jmespath_queries"))
    for index, raw in enumerate(queries):
        where = f"{path}.jmespath_queries[{index}]"
        query = checker.mapping(name, where, raw)
        if query is not None:
            checker.text(name, f"{where}.tool_name", query.get("tool_name"), required=True)
            checker.jmespath(name, f"{where}.jmespath_query", query.get("jmespath_query"))


def _check_edges(checker: Checker, edges: list[Any], names: set[str]) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    for index, raw in enumerate(edges):
        path = f"edges[{index}]"
        edge = checker.mapping(None, path, raw)
        if edge is None:
            continue
        source = _edge_end(checker, f"{path}.from", edge.get("from"), names | {START}, END)
        target = _edge_end(checker, f"{path}.to", edge.get("to"), names | {END}, START)
        for key in ("condition", "label", "id"):
            checker.text(None, f"{path}.{key}", edge.get(key), required=False)
        if source is not None and target is not None:
            links.append((source, target))
    return links


def _edge_end(
    checker: Checker, path: str, value: Any, known: set[str], forbidden: str
) -> str | None:
    if not checker.text(None, path, value, required=True):
        return None
    if value == forbidden:
        checker.add(None, path, f"an edge cannot {'leave' if value == END else 'enter'} {value}")
        return None
    if value not in known:
        checker.add(None, path, f"names no node: {value!r}")
        return None
    return str(value)


def _check_reachable(checker: Checker, nodes: list[Any], links: list[tuple[str, str]]) -> None:
    named = [(i, n) for i, n in enumerate(nodes) if isinstance(n, Mapping) and _named(n)]
    roots = {START} | {n["name"] for _, n in named if n.get("global") is True}
    reached = _reach(roots, links)
    for index, node in named:
        if node["name"] not in reached and node["name"] not in (START, END):
            checker.add(node["name"], f"nodes[{index}]", "is unreachable from __start__")


def _named(node: Mapping[str, Any]) -> bool:
    name = node.get("name")
    return isinstance(name, str) and bool(name)


def _reach(roots: set[str], links: list[tuple[str, str]]) -> set[str]:
    outgoing: dict[str, list[str]] = {}
    for source, target in links:
        outgoing.setdefault(source, []).append(target)
    reached, queue = set(roots), deque(roots)
    while queue:
        for target in outgoing.get(queue.popleft(), []):
            if target not in reached:
                reached.add(target)
                queue.append(target)
    return reached


async def graph_problems(raw: object, policy: EgressPolicy) -> Checker:
    """:func:`check_graph` and the egress check of every MCP URL (hosts resolved all at
    once, each bounded by its timeout): call it with no session open."""
    checker = check_graph(raw)
    urls = list(dict.fromkeys(url for _, _, url in checker.mcp_urls))
    answers = await asyncio.gather(*(url_refusal(policy, url) for url in urls))
    reasons = dict(zip(urls, answers, strict=True))
    for node, path, url in checker.mcp_urls:
        if (reason := reasons[url]) is not None:
            checker.add(node, path, reason)
    if not checker.problems:
        _check_parses(checker, raw)
    return checker


def _check_parses(checker: Checker, raw: object) -> None:
    """What the rules let through must parse as :class:`GraphDoc` (a field no rule names,
    such as a WebhookNode's ``webhook.name``, of the wrong type): else it is a problem too."""
    try:
        GraphDoc.model_validate(raw)
    except ValidationError as error:
        for problem in error.errors():
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"])
            checker.add(_node_at(raw, problem["loc"]), path.lstrip("."), problem["msg"])


def _node_at(raw: object, loc: tuple[int | str, ...]) -> str | None:
    if len(loc) < 2 or loc[0] != "nodes" or not isinstance(loc[1], int):
        return None
    node = raw["nodes"][loc[1]] if isinstance(raw, Mapping) else None
    return node.get("name") if isinstance(node, Mapping) else None


async def validate_graph(raw: object, policy: EgressPolicy, *, where: str) -> GraphDoc:
    """``raw`` parsed, or :class:`GraphInvalid` with every problem (fields under ``where``).

    The WhatsApp config ids templates name are not checked here (``agents.authoring``
    checks them against the project).
    """
    checker = await graph_problems(raw, policy)
    if checker.problems:
        raise GraphInvalid(checker.problems, where=where)
    return GraphDoc.model_validate(raw)


__all__ = [
    "NAME",
    "Checker",
    "GraphInvalid",
    "Problem",
    "check_graph",
    "graph_problems",
    "validate_graph",
]
