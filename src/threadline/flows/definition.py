"""Flow definitions: the node/edge graph the builder SDK emits, validated and indexed.

:func:`validate_definition` is the gate for untrusted JSON: it reports every problem at
once as :class:`DefinitionInvalid`. :func:`parse_stored` reads a version saved earlier: it
parses the structure without today's rules, so a rule added later never breaks a stored
version or the executions pinned to it. :class:`FlowDefinition` is the validated graph the engine
walks, with precomputed lookups for its hot path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from threadline.errors import Unprocessable
from threadline.flows.config_base import rule_error
from threadline.flows.definition_checks import NEXT, Problem, check_definition
from threadline.flows.node_configs import NODE_CONFIGS, NodeConfig, parse_node_config

__all__ = [
    "DefinitionInvalid",
    "FlowDefinition",
    "FlowEdge",
    "FlowNode",
    "Position",
    "Problem",
    "parse_stored",
    "validate_definition",
]

_SUMMARY_LIMIT = 10


def _summary(problems: Sequence[Problem]) -> str:
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    shown = "; ".join(str(problem) for problem in problems[:_SUMMARY_LIMIT])
    more = len(problems) - _SUMMARY_LIMIT
    return f"{count}: {shown}" + (f"; and {more} more" if more > 0 else "")


class DefinitionInvalid(Unprocessable):
    """The flow definition is invalid."""

    error = "Invalid flow definition"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        summary = _summary(self.problems)
        errors = [problem.as_dict() for problem in self.problems]
        super().__init__(summary, details=summary, errors=errors)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Position(_Frozen):
    """Where the builder draws a node; irrelevant to execution."""

    x: float
    y: float


class FlowEdge(_Frozen):
    """A directed edge; ``label`` names the exit of ``source`` it leaves by."""

    id: str | None = None
    source: str
    target: str
    label: str = NEXT
    flow_condition_id: str | None = None

    @field_validator("label", mode="before")
    @classmethod
    def _default_label(cls, label: Any) -> Any:
        return NEXT if label is None else label

    def to_json(self) -> dict[str, Any]:
        """The stored JSON form of this edge."""
        return self.model_dump(exclude_none=True)


class FlowNode(_Frozen):
    """A node with its typed config; built from the SDK's ``{id, type, data: {...}}`` shape."""

    id: str
    type: str = "flow-node"
    position: Position | None = None
    node_type: str
    display_name: str | None = None
    config: NodeConfig
    # Kept verbatim so a stored definition round-trips to the builder SDK unchanged.
    raw_config: dict[str, Any] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _from_builder_shape(cls, value: Any) -> Any:
        if not isinstance(value, Mapping) or not isinstance(value.get("data"), Mapping):
            return value
        data = value["data"]
        raw_config = dict(data.get("config") or {})
        return {
            "id": value.get("id"),
            "type": value.get("type", "flow-node"),
            "position": value.get("position"),
            "node_type": data.get("node_type", data.get("nodeType")),
            "display_name": data.get("display_name", data.get("displayName")),
            "config": raw_config,
            "raw_config": raw_config,
        }

    @field_validator("config", mode="before")
    @classmethod
    def _parse_config(cls, config: Any, info: ValidationInfo) -> Any:
        node_type = info.data.get("node_type")
        if not isinstance(node_type, str) or node_type not in NODE_CONFIGS:
            raise rule_error(f"no config model for node type {node_type!r}")
        if isinstance(config, BaseModel):
            return config
        return parse_node_config(node_type, config)

    def to_json(self) -> dict[str, Any]:
        """The stored JSON form of this node, with snake_case ``data`` keys."""
        data: dict[str, Any] = {"node_type": self.node_type, "config": self.raw_config}
        if self.display_name is not None:
            data["display_name"] = self.display_name
        node: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.position is not None:
            node["position"] = self.position.model_dump()
        node["data"] = data
        return node


class FlowDefinition(_Frozen):
    """A flow graph, indexed for the engine.

    Build one with :func:`validate_definition` for untrusted input; ``model_validate`` alone
    parses node configs but does not check the graph rules.
    """

    nodes: list[FlowNode]
    edges: list[FlowEdge] = Field(default_factory=list)

    _by_id: dict[str, FlowNode] = PrivateAttr(default_factory=dict)
    _outgoing: dict[str, list[FlowEdge]] = PrivateAttr(default_factory=dict)
    _targets: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)
    _start: FlowNode | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        """Precompute the lookups the engine uses on every step."""
        for node in self.nodes:
            self._by_id.setdefault(node.id, node)
            self._outgoing.setdefault(node.id, [])
        for edge in self.edges:
            self._outgoing.setdefault(edge.source, []).append(edge)
            self._targets.setdefault((edge.source, edge.label), edge.target)
        starts = [node for node in self.nodes if node.node_type == "start"]
        self._start = starts[0] if len(starts) == 1 else None

    def node(self, node_id: str) -> FlowNode:
        """The node with ``node_id``; ``KeyError`` when there is none."""
        return self._by_id[node_id]

    def has_node(self, node_id: str) -> bool:
        """Whether a node with ``node_id`` exists."""
        return node_id in self._by_id

    @property
    def start_node(self) -> FlowNode:
        """The single start node; ``DefinitionInvalid`` when there is not exactly one."""
        if self._start is None:
            problem = Problem(None, "nodes", "a flow needs exactly one start node")
            raise DefinitionInvalid([problem])
        return self._start

    def edges_from(self, node_id: str) -> list[FlowEdge]:
        """The edges leaving ``node_id``, in definition order (shared: do not mutate)."""
        return self._outgoing.get(node_id, [])

    def next_node_id(self, node_id: str, label: str = NEXT) -> str | None:
        """The target of the ``label`` edge leaving ``node_id``, or ``None``."""
        return self._targets.get((node_id, label))

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON to store: the builder shape with snake_case node data."""
        return {
            "nodes": [node.to_json() for node in self.nodes],
            "edges": [edge.to_json() for edge in self.edges],
        }


def validate_definition(raw: object) -> FlowDefinition:
    """Validate untrusted definition JSON, raising :class:`DefinitionInvalid` with every problem."""
    problems = check_definition(raw)
    if problems:
        raise DefinitionInvalid(problems)
    return FlowDefinition.model_validate(raw)


def parse_stored(stored: object) -> FlowDefinition:
    """Parse a stored version's JSON: its structure only, none of the rules of
    :mod:`~threadline.flows.definition_checks` (the version passed the rules of its day).

    New rules therefore belong in ``definition_checks``, not in the config models' fields.
    """
    return FlowDefinition.model_validate(stored)
