"""The rules a flow definition must satisfy, checked on the raw JSON.

Checking the raw JSON (rather than parsing into models first) lets one pass report every
problem at once, each with the node it belongs to and the path of the offending field.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from threadline.flows.ai_fields import (
    AI_FIELD_SLOTS,
    AI_TAG,
    CONFIG_KEY,
    TEXT_TAG,
    ai_field_problems,
    marker_paths,
)
from threadline.flows.config_base import RULE_ERROR
from threadline.flows.config_keys import unknown_keys
from threadline.flows.node_configs import (
    NODE_CONFIGS,
    DecideConfig,
    NodeConfig,
    SendInteractiveConfig,
    parse_node_config,
)

NEXT = "next"
#: The exit a decide node takes when no condition could be chosen.
DECIDE_ERROR_EXIT = "error"
# Optional extra exits per node type; every other type only has ``next``.
EXTRA_EXITS: Mapping[str, frozenset[str]] = {
    "wait_for_response": frozenset({"timeout"}),
    "webhook": frozenset({"error"}),
    "function": frozenset({"error"}),
    "agent": frozenset({"error"}),
}
# Node types whose config names further exits (an interactive message's button and row
# ids): while the config is invalid their edge labels cannot be judged.
CONFIG_DEFINED_EXITS = frozenset({"send_interactive"})
UNSUPPORTED_TYPES: Mapping[str, str] = {
    "pipedream": "pipedream nodes are not supported",
}

Path = tuple[str | int, ...]
# Parts of a pydantic error location that name no field: "the key itself", and the members
# of a field that may be an AI field.
_UNNAMED_PARTS = frozenset({"[key]", TEXT_TAG, AI_TAG})


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a flow definition is invalid.

    ``node_id`` is the node the problem belongs to (``None`` for flow-level problems);
    ``field`` is the path of the offending field, relative to the node's ``data`` for node
    problems (``config.buttons[3].title``) and to the definition otherwise (``edges[2].target``).
    """

    node_id: str | None
    field: str
    message: str

    def as_dict(self) -> dict[str, str | None]:
        """The JSON form used in error details."""
        return {"node_id": self.node_id, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"node {self.node_id!r} {self.field}" if self.node_id else self.field
        return f"{where}: {self.message}"


@dataclass(slots=True)
class _Node:
    id: str
    node_type: str
    config: Mapping[str, Any]
    parsed: NodeConfig | None


@dataclass(frozen=True, slots=True)
class _Edge:
    index: int
    source: str
    target: str
    label: str


def format_path(path: Path) -> str:
    """Render a location such as ``("buttons", 3, "title")`` as ``buttons[3].title``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _UNNAMED_PARTS:
            text += f".{part}" if text else part
    return text


def _join(prefix: str, path: Path) -> str:
    rest = format_path(path)
    if not rest:
        return prefix
    return prefix + rest if rest.startswith("[") else f"{prefix}.{rest}"


def _error_path(error: Mapping[str, Any]) -> Path:
    extra: Path = ()
    if error["type"] == RULE_ERROR:
        extra = tuple(error.get("ctx", {}).get("path", ()))
    return (*tuple(error["loc"]), *extra)


def _under(path: Path, prefixes: list[Path]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in prefixes)


@dataclass
class DefinitionChecker:
    """Collects every problem of one raw definition; see :func:`check_definition`."""

    problems: list[Problem] = field(default_factory=list)
    node_index: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)

    def add(self, node_id: str | None, where: str, message: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(node_id, where, message))

    def run(self, raw: object) -> list[Problem]:
        """Check ``raw`` and return every problem found."""
        if not isinstance(raw, Mapping):
            self.add(None, "definition", "must be a JSON object")
            return self.problems
        self.check_nodes(raw.get("nodes"))
        self.check_edges(raw.get("edges", []))
        start = self.check_start()
        self.check_exits()
        if start is not None:
            self.check_reachable(start)
        return self.problems

    # Nodes

    def check_nodes(self, nodes: Any) -> None:
        """Check the node list and every node in it."""
        if not isinstance(nodes, list) or not nodes:
            self.add(None, "nodes", "must be a non-empty list")
            return
        for index, item in enumerate(nodes):
            node_id = self.node_id(index, item)
            if node_id is None:
                continue
            if node_id in self.node_index:
                self.add(node_id, "id", f"duplicate node id (nodes[{self.node_index[node_id]}])")
            node = self.check_node(node_id, item)
            if node_id not in self.node_index:
                self.node_index[node_id] = index
                if node is not None:
                    self.nodes[node_id] = node

    def node_id(self, index: int, item: Any) -> str | None:
        """The id of the node at ``index``, or ``None`` after recording why it has none."""
        if not isinstance(item, Mapping):
            self.add(None, f"nodes[{index}]", "must be an object")
        elif "id" not in item:
            self.add(None, f"nodes[{index}].id", "is required")
        elif not isinstance(item["id"], str) or not item["id"]:
            self.add(None, f"nodes[{index}].id", "must be a non-empty string")
        else:
            return item["id"]
        return None

    def check_node(self, node_id: str, item: Mapping[str, Any]) -> _Node | None:
        """Check one node's shape and config; ``None`` when it cannot be used further."""
        self.check_position(node_id, item.get("position"))
        data = item.get("data")
        if not isinstance(data, Mapping):
            self.add(node_id, "data", "must be an object")
            return None
        display_name = data.get("display_name", data.get("displayName"))
        if display_name is not None and not isinstance(display_name, str):
            self.add(node_id, "display_name", "must be a string")
        node_type = self.check_node_type(node_id, data.get("node_type", data.get("nodeType")))
        config = data.get("config", {})
        if not isinstance(config, Mapping):
            self.add(node_id, "config", "must be an object")
            config = None
        if node_type is None:
            return None
        parsed = self.check_config(node_id, node_type, config) if config is not None else None
        return _Node(node_id, node_type, config or {}, parsed)

    def check_position(self, node_id: str, position: Any) -> None:
        """``position``, when given, is ``{x, y}`` with numbers."""
        if position is None:
            return
        numbers = isinstance(position, Mapping) and all(
            isinstance(position.get(axis), int | float) and not isinstance(position.get(axis), bool)
            for axis in ("x", "y")
        )
        if not numbers:
            self.add(node_id, "position", "must be an object with numeric x and y")

    def check_node_type(self, node_id: str, node_type: Any) -> str | None:
        """The node type, recording a problem when it is missing, unknown or unsupported."""
        if node_type is None:
            self.add(node_id, "node_type", "is required")
            return None
        if not isinstance(node_type, str):
            self.add(node_id, "node_type", "must be a string")
            return None
        if node_type in UNSUPPORTED_TYPES:
            self.add(node_id, "node_type", UNSUPPORTED_TYPES[node_type])
        elif node_type not in NODE_CONFIGS:
            known = ", ".join(NODE_CONFIGS)
            self.add(node_id, "node_type", f"unknown node type {node_type!r}; known types: {known}")
        return node_type

    def check_config(
        self, node_id: str, node_type: str, config: Mapping[str, Any]
    ) -> NodeConfig | None:
        """Validate a supported node's config, reporting its AI fields' and each field's errors."""
        if node_type not in NODE_CONFIGS:
            return None
        for path, message in ai_field_problems(node_type, config):
            self.add(node_id, _join("config", path), message)
        # The AI-field rules above own the markers and their prompts; pydantic's view of
        # them would only repeat those problems.
        ai_paths: list[Path] = list(marker_paths(config))
        if node_type in AI_FIELD_SLOTS:
            ai_paths.append((CONFIG_KEY,))
        for key, message in unknown_keys(node_type, config):
            if not _under((key,), ai_paths):
                self.add(node_id, _join("config", (key,)), message)
        try:
            return parse_node_config(node_type, config)
        except ValidationError as exc:
            for error in exc.errors():
                path = _error_path(error)
                if not _under(path, ai_paths):
                    self.add(node_id, _join("config", path), error["msg"])
            return None

    # Edges

    def check_edges(self, edges: Any) -> None:
        """Check every edge and keep the usable ones for the graph rules."""
        if not isinstance(edges, list):
            self.add(None, "edges", "must be a list")
            return
        first_by_exit: dict[tuple[str, str], int] = {}
        for index, item in enumerate(edges):
            edge = self.check_edge(index, item)
            if edge is None:
                continue
            key = (edge.source, edge.label)
            if key in first_by_exit:
                self.add(
                    edge.source,
                    f"edges[{index}].label",
                    f"a second {edge.label!r} edge leaves this node (the first is "
                    f"edges[{first_by_exit[key]}]), so the branch is ambiguous",
                )
                continue
            first_by_exit[key] = index
            self.edges.append(edge)

    def check_edge(self, index: int, item: Any) -> _Edge | None:
        """One edge's shape; ``None`` when it cannot be used for the graph rules."""
        where = f"edges[{index}]"
        if not isinstance(item, Mapping):
            self.add(None, where, "must be an object")
            return None
        source = self.edge_end(index, item, "source", None)
        owner = source
        target = self.edge_end(index, item, "target", owner)
        label = self.edge_label(index, item, owner)
        for key in ("id", "flow_condition_id"):
            if item.get(key) is not None and not isinstance(item[key], str):
                self.add(owner, f"{where}.{key}", "must be a string")
        if source is None or target is None or label is None:
            return None
        if target in self.nodes and self.nodes[target].node_type == "start":
            self.add(owner, f"{where}.target", "no edge may lead into the start node")
            return None
        return _Edge(index, source, target, label)

    def edge_end(
        self, index: int, item: Mapping[str, Any], key: str, owner: str | None
    ) -> str | None:
        """The ``source`` or ``target`` of an edge when it names an existing node."""
        where = f"edges[{index}].{key}"
        value = item.get(key)
        if value is None:
            self.add(owner, where, "is required")
        elif not isinstance(value, str):
            self.add(owner, where, "must be a string")
        elif value not in self.node_index:
            self.add(owner, where, f"unknown node {value!r}")
        else:
            return value
        return None

    def edge_label(self, index: int, item: Mapping[str, Any], owner: str | None) -> str | None:
        """The edge label, ``next`` when absent."""
        label = item.get("label")
        if label is None:
            return NEXT
        if isinstance(label, str) and label:
            return label
        self.add(owner, f"edges[{index}].label", "must be a non-empty string")
        return None

    # Graph

    def check_start(self) -> str | None:
        """Exactly one start node, with a way out; returns its id."""
        starts = [node.id for node in self.nodes.values() if node.node_type == "start"]
        if len(starts) != 1:
            found = f"{len(starts)}: " + ", ".join(map(repr, starts)) if starts else "none"
            if self.node_index:
                self.add(None, "nodes", f"a flow needs exactly one start node; found {found}")
            return None
        if not any(edge.source == starts[0] for edge in self.edges):
            self.add(starts[0], "edges", "the start node has no outgoing edge")
        return starts[0]

    def check_exits(self) -> None:
        """Every edge label is an exit its source node has; decide conditions are all wired."""
        by_source: dict[str, list[_Edge]] = {}
        for edge in self.edges:
            by_source.setdefault(edge.source, []).append(edge)
        for node in self.nodes.values():
            if node.node_type == "decide":
                self.check_decide_exits(node, by_source.get(node.id, []))
            elif node.node_type in NODE_CONFIGS:
                self.check_plain_exits(node, by_source.get(node.id, []))

    def check_plain_exits(self, node: _Node, edges: list[_Edge]) -> None:
        """A non-branching node leaves by ``next`` plus its optional extra exits."""
        if node.parsed is None and node.node_type in CONFIG_DEFINED_EXITS:
            return  # its exits come from the invalid config, already reported
        allowed = {NEXT} | EXTRA_EXITS.get(node.node_type, frozenset())
        if isinstance(node.parsed, SendInteractiveConfig):
            # Interactive routing: an edge per button or row id, taken when it is chosen.
            allowed |= set(node.parsed.options)
        names = ", ".join(sorted(allowed))
        for edge in edges:
            if edge.label not in allowed:
                self.add(
                    node.id,
                    f"edges[{edge.index}].label",
                    f"{edge.label!r} is not an exit of a {node.node_type} node (allowed: {names})",
                )

    def check_decide_exits(self, node: _Node, edges: list[_Edge]) -> None:
        """A decide node has exactly one edge per condition label, and may have an ``error``
        edge (taken when the decision fails: the call, or a model naming no condition)."""
        labels = _condition_labels(node)
        wired = {edge.label for edge in edges}
        for edge in edges:
            if edge.label not in labels and edge.label != DECIDE_ERROR_EXIT:
                self.add(
                    node.id,
                    f"edges[{edge.index}].label",
                    f"{edge.label!r} matches no condition of this decide node "
                    f"(conditions: {', '.join(labels) or 'none'}; or {DECIDE_ERROR_EXIT!r})",
                )
        for index, label in enumerate(labels):
            if label not in wired:
                self.add(
                    node.id,
                    f"config.conditions[{index}].label",
                    f"condition {label!r} has no outgoing edge",
                )

    def check_reachable(self, start: str) -> None:
        """Every node can be reached from the start node."""
        targets: dict[str, list[str]] = {}
        for edge in self.edges:
            targets.setdefault(edge.source, []).append(edge.target)
        seen, queue = {start}, deque([start])
        while queue:
            for target in targets.get(queue.popleft(), []):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for node_id in self.node_index:
            if node_id not in seen:
                self.add(node_id, "id", "unreachable from start")


def _condition_labels(node: _Node) -> list[str]:
    """Condition labels of a decide node, read leniently when its config is invalid."""
    if isinstance(node.parsed, DecideConfig):
        return list(node.parsed.labels)
    conditions = node.config.get("conditions")
    if not isinstance(conditions, list):
        return []
    return [
        c["label"] for c in conditions if isinstance(c, Mapping) and isinstance(c.get("label"), str)
    ]


def check_definition(raw: object) -> list[Problem]:
    """Every problem of a raw flow definition, in document order; empty when valid."""
    return DefinitionChecker().run(raw)
