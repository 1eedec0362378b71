"""The graph JSON Kapso's builder SDK sends (``POST``/``PATCH /agents``), as Pydantic models.

These models read a graph that :mod:`~threadline.agents.validation` accepted; the API
stores and returns the JSON itself, verbatim, so keys these models ignore still
round-trip. Where the SDK sends JSON-encoded *strings* (a webhook's ``headers``,
``body``, ``body_schema``, ``mock_response``) an object is accepted too, and
:func:`decoded` reads either.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.engine.agent.graph import END, START, NodeType

__all__ = [
    "END",
    "HTTP_METHODS",
    "NODE_CONFIG_KEYS",
    "NODE_TYPES",
    "START",
    "GraphDoc",
    "GraphEdge",
    "GraphNode",
    "JmespathQuery",
    "KnowledgeBaseConfig",
    "McpServerTool",
    "SubagentConfig",
    "WarmEndConfig",
    "WebhookConfig",
    "WhatsappTemplateConfig",
    "decoded",
]

NODE_TYPES: tuple[NodeType, ...] = (
    "DefaultNode",
    "SubagentNode",
    "WebhookNode",
    "KnowledgeBaseNode",
    "HandoffNode",
    "WarmEndNode",
    "WhatsappTemplateNode",
)
#: The config block each node type must carry (the SDK's ``Node.__post_init__``).
NODE_CONFIG_KEYS: dict[str, str] = {
    "WebhookNode": "webhook",
    "KnowledgeBaseNode": "knowledge_base",
    "WarmEndNode": "warm_end",
    "WhatsappTemplateNode": "whatsapp_template",
}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: A JSON value the SDK sends encoded as a string (or, from other clients, as itself).
JsonText = str | dict[str, Any] | list[Any] | None


def decoded(value: JsonText) -> Any:
    """The value of a JSON-encoded string (``None`` for empty); other values as they are."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    return value


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WebhookConfig(_Part):
    """A WebhookNode's ``webhook`` block, or one of a subagent's ``webhooks``."""

    name: str = ""
    description: str = ""
    url: str
    http_method: str = "GET"
    headers: JsonText = None
    body: JsonText = None
    body_schema: JsonText = None
    jmespath_query: str | None = None
    mock_response: JsonText = None
    mock_response_enabled: bool = False


class KnowledgeBaseConfig(_Part):
    """A KnowledgeBaseNode's ``knowledge_base``, or one of a subagent's ``knowledge_bases``."""

    name: str = ""
    description: str = ""
    key: str | None = None
    knowledge_base_text: str | None = None
    knowledge_base_file: str | None = None


class JmespathQuery(_Part):
    """Which part of an MCP tool's result the model sees."""

    tool_name: str
    jmespath_query: str


class McpServerTool(_Part):
    """One of a subagent's ``mcp_servers``."""

    name: str
    description: str = ""
    url: str
    transport_kind: Literal["streamable_http", "sse"] = "streamable_http"
    jmespath_queries: list[JmespathQuery] = Field(default_factory=list)
    #: Sent with every request (a flow's agent node has them; an agent graph's has none).
    headers: JsonText = None


class WhatsappTemplateConfig(_Part):
    """A WhatsappTemplateNode's ``whatsapp_template``, or one of a subagent's templates."""

    name: str = ""
    description: str = ""
    template_name: str
    phone_number: str
    template_parameters: dict[str, Any] | None = None
    wait_for_response: bool = False
    whatsapp_config_id: str | None = None
    whatsapp_template_id: str | None = None


class WarmEndConfig(_Part):
    """A WarmEndNode's ``warm_end``: how long the conversation stays open at the end."""

    timeout_minutes: int = 60


class SubagentConfig(_Part):
    """A SubagentNode's ``subagent``: its tools, by kind."""

    webhooks: list[WebhookConfig] = Field(default_factory=list)
    knowledge_bases: list[KnowledgeBaseConfig] = Field(default_factory=list)
    mcp_servers: list[McpServerTool] = Field(default_factory=list)
    whatsapp_templates: list[WhatsappTemplateConfig] = Field(default_factory=list)


class GraphNode(_Part):
    """A node: ``name`` (also its ``id``, as the CLI assigns it), type, prompt, and the
    config block of its type."""

    id: str | None = None
    name: str
    type: NodeType = "DefaultNode"
    prompt: str | None = None
    is_global: bool = Field(default=False, alias="global")
    global_condition: str | None = None
    webhook: WebhookConfig | None = None
    knowledge_base: KnowledgeBaseConfig | None = None
    warm_end: WarmEndConfig | None = None
    handoff: dict[str, Any] | None = None
    whatsapp_template: WhatsappTemplateConfig | None = None
    subagent: SubagentConfig | None = None


class GraphEdge(_Part):
    """An edge ``from`` → ``to`` by node name; its condition is ``condition`` or ``label``."""

    id: str | None = None
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    condition: str | None = None
    label: str | None = None

    @property
    def when(self) -> str | None:
        """The condition the edge is taken on (the SDK writes it under both keys)."""
        return self.condition or self.label or None


class GraphDoc(_Part):
    """A whole graph: ``nodes`` (``__start__``/``__end__`` among them, as the SDK sends
    them) and ``edges``."""

    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[GraphEdge] = Field(default_factory=list)

    def real_nodes(self) -> list[GraphNode]:
        """The nodes other than the start and the end."""
        return [n for n in self.nodes if n.name not in (START, END)]
