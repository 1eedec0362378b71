"""The agent interpreter's view of a graph: what it needs to decide, nothing it does not.

The Agents API stores the graph exactly as Kapso's builder SDK sends it; the runtime
turns a stored version into this view once per load. Tools that reach out (webhook
requests, knowledge bases, MCP servers) arrive already described as :class:`ExternalTool`
(a name, the schema the model sees, and the opaque config their job needs), so the
interpreter only decides *that* one runs, never *how*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from threadline.llm.types import ToolSpec

START = "__start__"
END = "__end__"
#: The names ``MoveToNextNode`` accepts for the end, as Kapso's runner does.
END_NAMES = frozenset({END, "end", "END"})

NodeType = Literal[
    "DefaultNode",
    "SubagentNode",
    "WebhookNode",
    "KnowledgeBaseNode",
    "HandoffNode",
    "WarmEndNode",
    "WhatsappTemplateNode",
]
ExternalKind = Literal["webhook", "knowledge_base", "mcp"]


@dataclass(frozen=True, slots=True)
class ExternalTool:
    """A tool whose call runs as a job: ``config`` is handed to that job unchanged."""

    kind: ExternalKind
    spec: ToolSpec
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TemplateOption:
    """A WhatsApp template a node may send (``SendWhatsappTemplateMessage``)."""

    template_name: str
    phone_number: str
    #: The approved template's language (the runtime looks it up by name).
    language: str = "en_US"
    parameters: dict[str, Any] = field(default_factory=dict)
    wait_for_response: bool = False
    whatsapp_config_id: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class AgentNode:
    """One node: its type, instructions, and what it may use."""

    name: str
    type: NodeType = "DefaultNode"
    prompt: str = ""
    is_global: bool = False
    global_condition: str | None = None
    tools: tuple[ExternalTool, ...] = ()
    templates: tuple[TemplateOption, ...] = ()
    warm_end_minutes: int | None = None

    def tool(self, name: str) -> ExternalTool | None:
        """The external tool the model calls by ``name``, if this node has it."""
        return next((t for t in self.tools if t.spec.name == name), None)


@dataclass(frozen=True, slots=True)
class AgentEdge:
    """``source`` → ``target`` by node name, taken when ``condition`` holds (or always)."""

    source: str
    target: str
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class NextNode:
    """A node the current one may move to, as the step prompt lists it."""

    name: str
    condition: str | None


@dataclass(frozen=True, slots=True)
class AgentGraph:
    """A whole agent: its prompt, nodes by name, edges, and the runtime's limits."""

    name: str
    system_prompt: str
    nodes: dict[str, AgentNode]
    edges: tuple[AgentEdge, ...]
    #: Kapso's ``agent_version``: 1 messages the user through tools; 2 sends plain text.
    version: Literal[1, 2] = 1
    max_model_calls_per_turn: int = 12

    def node(self, name: str) -> AgentNode:
        """The node called ``name`` (the end is a node without tools)."""
        return self.nodes.get(name) or AgentNode(name=name)

    def start_node(self) -> str:
        """Where a new execution begins: the target of the start edge."""
        return next((e.target for e in self.edges if e.source == START), END)

    def global_nodes(self) -> list[AgentNode]:
        """Nodes any non-global node may jump to by their condition."""
        return [n for n in self.nodes.values() if n.is_global]

    def next_nodes(self, name: str, *, returns_to: str | None = None) -> list[NextNode]:
        """Where ``name`` may go: its edges, every global node (from a non-global node),
        and, inside a global node entered from another, the way back."""
        own = [NextNode(e.target, e.condition) for e in self.edges if e.source == name]
        if self.node(name).is_global:
            if returns_to is None:
                return own
            return [*own, NextNode(returns_to, "return to where the conversation was")]
        jumps = [NextNode(g.name, g.global_condition) for g in self.global_nodes()]
        return own + [j for j in jumps if j.name != name]
