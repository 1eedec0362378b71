"""Field-level checks of an agent graph's raw JSON: each records a :class:`Problem`.

:mod:`~threadline.agents.validation` walks the graph and calls these for each value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jmespath
from jmespath.exceptions import JMESPathError
from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for

from threadline.agents.graph import HTTP_METHODS, decoded


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a graph is refused: the node (by name) it belongs to, if any, and the
    path of the field (``nodes[2].webhook.body_schema``, relative to the graph)."""

    node: str | None
    field: str
    message: str

    def as_dict(self, where: str) -> dict[str, str | None]:
        """The JSON form in a 422's ``errors``, the field prefixed with ``where``."""
        return {"node": self.node, "field": f"{where}.{self.field}", "message": self.message}

    def __str__(self) -> str:
        where = f"node {self.node!r} {self.field}" if self.node else self.field
        return f"{where}: {self.message}"


@dataclass
class Checker:
    """Collects the problems of one graph, and what is left to check elsewhere: MCP URLs
    (the egress policy) and WhatsApp config ids (the project's)."""

    problems: list[Problem] = field(default_factory=list)
    mcp_urls: list[tuple[str | None, str, str]] = field(default_factory=list)
    #: ``(node, path, id)`` of each WhatsApp config a template names, for the project check.
    config_ids: list[tuple[str | None, str, str]] = field(default_factory=list)

    def add(self, node: str | None, path: str, message: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(node, path, message))

    def text(self, node: str | None, path: str, value: Any, *, required: bool) -> bool:
        """Whether ``value`` is a non-empty string (absent is fine unless ``required``)."""
        if value is None and not required:
            return True
        if isinstance(value, str) and (value.strip() or not required):
            return True
        self.add(node, path, "is required" if value in (None, "") else "must be a string")
        return False

    def boolean(self, node: str | None, path: str, value: Any) -> None:
        """``value`` is absent or a boolean."""
        if value is not None and not isinstance(value, bool):
            self.add(node, path, "must be true or false")

    def mapping(self, node: str | None, path: str, value: Any) -> Mapping[str, Any] | None:
        """``value`` as an object, or None with a problem recorded."""
        if isinstance(value, Mapping):
            return value
        self.add(node, path, "must be an object")
        return None

    def listing(self, node: str | None, path: str, value: Any) -> list[Any]:
        """``value`` as a list (absent: empty), or empty with a problem recorded."""
        if value is None or isinstance(value, list):
            return value or []
        self.add(node, path, "must be a list")
        return []

    def jmespath(self, node: str | None, path: str, value: Any) -> None:
        """``value`` is absent or a JMESPath expression that compiles."""
        if value is None or not self.text(node, path, value, required=False):
            return
        try:
            jmespath.compile(value)
        except JMESPathError as error:
            self.add(node, path, f"is not a valid JMESPath expression ({error})")

    def webhook(self, node: str | None, path: str, raw: Any) -> None:
        """A webhook's request: URL, method, JSON fields, schema and mock."""
        config = self.mapping(node, path, raw)
        if config is None:
            return
        self.text(node, f"{path}.url", config.get("url"), required=True)
        method = config.get("http_method")
        if method is not None and (
            not isinstance(method, str) or method.upper() not in HTTP_METHODS
        ):
            self.add(node, f"{path}.http_method", f"must be one of {', '.join(HTTP_METHODS)}")
        for key in ("headers", "body", "mock_response"):
            self.json_text(node, f"{path}.{key}", config.get(key))
        self.body_schema(node, f"{path}.body_schema", config.get("body_schema"))
        self.boolean(node, f"{path}.mock_response_enabled", config.get("mock_response_enabled"))
        self.jmespath(node, f"{path}.jmespath_query", config.get("jmespath_query"))

    def json_text(self, node: str | None, path: str, value: Any) -> Any:
        """A JSON-encoded string (or the value itself): its value, or None if unreadable."""
        if value is None or isinstance(value, dict | list):
            return value
        if not isinstance(value, str):
            self.add(node, path, "must be a JSON object or a string of JSON")
            return None
        try:
            return decoded(value)
        except ValueError as error:
            self.add(node, path, f"is not valid JSON ({error})")
            return None

    def body_schema(self, node: str | None, path: str, value: Any) -> None:
        """A JSON Schema object that passes its meta-schema."""
        schema = self.json_text(node, path, value)
        if schema is None:
            return
        if not isinstance(schema, dict):
            self.add(node, path, "must be a JSON Schema object")
            return
        try:
            validator_for(schema, default=Draft202012Validator).check_schema(schema)
        except SchemaError as error:
            self.add(node, path, f"is not a valid JSON Schema: {error.message}")

    def mcp_url(self, node: str | None, path: str, value: Any) -> None:
        """An http(s) URL with a host, kept for the egress check."""
        if not self.text(node, path, value, required=True):
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.add(node, path, "must be an http:// or https:// URL with a host")
            return
        self.mcp_urls.append((node, path, value))


def check_knowledge_base(
    checker: Checker, name: str | None, path: str, config: Mapping[str, Any]
) -> None:
    """A knowledge base has its text (or, unread, its file's path)."""
    text, file = config.get("knowledge_base_text"), config.get("knowledge_base_file")
    checker.text(name, f"{path}.knowledge_base_text", text, required=False)
    checker.text(name, f"{path}.knowledge_base_file", file, required=False)
    if not (isinstance(text, str) and text.strip()) and not (isinstance(file, str) and file):
        checker.add(name, f"{path}.knowledge_base_text", "a knowledge base needs its text")


def check_template(
    checker: Checker, name: str | None, path: str, config: Mapping[str, Any]
) -> None:
    """A WhatsApp template: its name, the number to send to, its parameters."""
    checker.text(name, f"{path}.template_name", config.get("template_name"), required=True)
    checker.text(name, f"{path}.phone_number", config.get("phone_number"), required=True)
    parameters = config.get("template_parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        checker.add(name, f"{path}.template_parameters", "must be an object")
    checker.boolean(name, f"{path}.wait_for_response", config.get("wait_for_response"))
    checker.text(
        name, f"{path}.whatsapp_template_id", config.get("whatsapp_template_id"), required=False
    )
    config_id, where = config.get("whatsapp_config_id"), f"{path}.whatsapp_config_id"
    if checker.text(name, where, config_id, required=False) and config_id:
        checker.config_ids.append((name, where, config_id))
