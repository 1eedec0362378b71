"""The ``agent`` node's config: the builder SDK's ``AgentNode`` and its tools.

The SDK sends a webhook's ``headers``, ``body`` and ``body_schema`` and an MCP server's
``headers`` as JSON-encoded strings; objects are accepted too, and both are decoded here.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from threadline.flows.config_base import Config, HttpMethod, duplicates, rule_error
from threadline.kit.url_template import ORIGIN_RULE, url_origin

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _json_value(value: Any, what: str) -> Any:
    """A field the SDK sends as a JSON-encoded string (or as the value itself), decoded."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise rule_error(f"must be {what} (or a JSON string of one)") from None


def _json_object(value: Any) -> dict[str, Any]:
    decoded = _json_value(value, "a JSON object")
    if decoded is None:
        return {}
    if not isinstance(decoded, dict):
        raise rule_error("must be a JSON object (or a JSON string of one)")
    return decoded


def _http_url(url: str) -> str:
    if url_origin(url) is None:
        raise rule_error(ORIGIN_RULE)
    return url


class FlowAgentWebhook(Config):
    """An HTTP request the agent's model may make, as the SDK's ``FlowAgentWebhook``.

    ``{{name}}`` in the URL, headers or body is an argument the model fills;
    ``{{vars.x}}``, ``{{system.x}}``, ``{{context.x}}`` and ``{{last_user_input}}`` come
    from the flow. With a ``body_schema`` the model writes the body to that schema.
    """

    name: str = Field(min_length=1)
    description: str = ""
    url: Annotated[str, AfterValidator(_http_url)] = Field(min_length=1)
    http_method: HttpMethod = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    body_schema: dict[str, Any] | None = None
    jmespath_query: str | None = None

    @field_validator("name")
    @classmethod
    def _tool_name(cls, name: str) -> str:
        if not _TOOL_NAME.match(name):
            raise rule_error("letters, digits, '_' and '-' only, at most 64 (a tool's name)")
        return name

    @field_validator("http_method", mode="before")
    @classmethod
    def _upper_method(cls, method: Any) -> Any:
        return method.upper() if isinstance(method, str) else method

    @field_validator("headers", mode="before")
    @classmethod
    def _decode_headers(cls, headers: Any) -> Any:
        return _json_object(headers)

    @field_validator("body", mode="before")
    @classmethod
    def _decode_body(cls, body: Any) -> Any:
        return _json_value(body, "JSON")

    @field_validator("body_schema", mode="before")
    @classmethod
    def _decode_schema(cls, schema: Any) -> Any:
        decoded = _json_object(schema)
        if decoded and decoded.get("type", "object") != "object":
            raise rule_error('must describe an object ({"type": "object", "properties": ...})')
        return decoded or None


class FlowAgentMcpServer(Config):
    """An MCP server (streamable HTTP) whose tools the agent's model may call."""

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    url: Annotated[str, AfterValidator(_http_url)] = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers", mode="before")
    @classmethod
    def _decode_headers(cls, headers: Any) -> Any:
        return _json_object(headers)


class FlowAgentKnowledgeBase(Config):
    """A text the agent's model may search (``kb_retrieval``)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    knowledge_base_text: str = Field(min_length=1, max_length=2_000_000)


class AgentConfig(Config):
    """Converses with the contact as an LLM agent with tools, then hands back to the flow
    (``next``; ``error`` when the agent fails)."""

    system_prompt: str = Field(min_length=1, max_length=100_000)
    provider_model_name: str = Field(min_length=1)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_iterations: int = Field(default=80, ge=1, le=500)
    max_tokens: int = Field(default=8192, ge=1, le=200_000)
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    flow_agent_webhooks: list[FlowAgentWebhook] = Field(default_factory=list)
    flow_agent_mcp_servers: list[FlowAgentMcpServer] = Field(default_factory=list)
    flow_agent_knowledge_bases: list[FlowAgentKnowledgeBase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> AgentConfig:
        for field, items in (
            ("flow_agent_webhooks", self.flow_agent_webhooks),
            ("flow_agent_mcp_servers", self.flow_agent_mcp_servers),
            ("flow_agent_knowledge_bases", self.flow_agent_knowledge_bases),
        ):
            if dups := duplicates(item.name for item in items):
                raise rule_error(f"duplicate names: {', '.join(dups)}", field)
        return self
