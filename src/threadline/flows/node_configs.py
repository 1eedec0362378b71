"""Typed ``config`` models for every flow node type.

The same models validate a definition when it is saved and drive the engine when a node
runs, so they are strict about shape and frozen. The models ignore unknown keys, so that a
stored version always parses; saving a definition refuses them (:mod:`.config_keys` lists the
keys the builder SDK emits that Threadline does not use, such as ``provider_model_name``).

Rules that span several fields raise :func:`rule_error`, whose ``path`` context names the
offending field so that validation can report it precisely.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AliasChoices,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from threadline.flows.agent_config import AgentConfig
from threadline.flows.ai_fields import (
    PARAMETERS,
    AIField,
    AIFieldsConfig,
    BodyText,
    MessageText,
    ShortText,
    dotted,
)
from threadline.flows.ai_fields import marker_paths as _marker_paths
from threadline.flows.config_base import (
    Config,
    HttpMethod,
    VariableName,
    duplicates,
    rule_error,
    single_error,
)
from threadline.kit.url_template import ORIGIN_RULE, url_origin


class StartConfig(Config):
    """The entry point of a flow; it has no settings."""


class HandoffConfig(Config):
    """Hands the conversation to a human; the execution waits until resumed by the API."""


class SendTextConfig(AIFieldsConfig):
    """Sends a WhatsApp text message; ``message`` may hold ``{{...}}`` templates, or be an
    AI field."""

    message: MessageText
    whatsapp_config_id: str | None = None

    @property
    def ai_field_paths(self) -> list[str]:
        """``message`` when the model writes it."""
        return ["message"] if isinstance(self.message, AIField) else []


class WaitForResponseConfig(Config):
    """Pauses until the contact replies or, when set, ``timeout_seconds`` pass."""

    timeout_seconds: int | None = Field(default=None, ge=10, le=604_800)
    save_response_to: VariableName | None = None


class Button(Config):
    """One reply button of an interactive message."""

    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=20)


class Row(Config):
    """One row of an interactive list section."""

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(default=None, max_length=72)


class Section(Config):
    """A titled group of rows in an interactive list."""

    title: str | None = Field(default=None, max_length=24)
    rows: list[Row] = Field(min_length=1)


class SendInteractiveConfig(AIFieldsConfig):
    """Sends reply buttons or a list; the choice is the reply the next wait receives. The
    body, header and footer may be AI fields."""

    interactive_type: Literal["button", "list"] = "button"
    body_text: BodyText
    header_text: ShortText | None = None
    footer_text: ShortText | None = None
    buttons: Annotated[list[Button], Field(min_length=1, max_length=3)] | None = Field(
        default=None, validate_default=True
    )
    list_button_text: str | None = Field(
        default=None, min_length=1, max_length=20, validate_default=True
    )
    list_sections: Annotated[list[Section], Field(min_length=1, max_length=10)] | None = Field(
        default=None, validate_default=True
    )
    whatsapp_config_id: str | None = None

    @field_validator("buttons")
    @classmethod
    def _check_buttons(
        cls, buttons: list[Button] | None, info: ValidationInfo
    ) -> list[Button] | None:
        if buttons is None:
            if info.data.get("interactive_type") == "button":
                raise rule_error("is required for button messages")
            return None
        problems = [
            f"duplicate button {what}: {', '.join(dups)}"
            for what, dups in (
                ("ids", duplicates(b.id for b in buttons)),
                ("titles", duplicates(b.title for b in buttons)),
            )
            if dups
        ]
        if problems:
            raise rule_error("; ".join(problems))
        return buttons

    @field_validator("list_button_text")
    @classmethod
    def _check_list_button_text(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text is None and info.data.get("interactive_type") == "list":
            raise rule_error("is required for list messages")
        return text

    @field_validator("list_sections")
    @classmethod
    def _check_sections(
        cls, sections: list[Section] | None, info: ValidationInfo
    ) -> list[Section] | None:
        if sections is None:
            if info.data.get("interactive_type") == "list":
                raise rule_error("is required for list messages")
            return None
        rows = [row for section in sections for row in section.rows]
        if not 1 <= len(rows) <= 10:
            raise rule_error(f"a list needs 1 to 10 rows in total, not {len(rows)}")
        if dups := duplicates(row.id for row in rows):
            raise rule_error(f"duplicate row ids: {', '.join(dups)}")
        for index, section in enumerate(sections):
            if len(sections) > 1 and not section.title:
                raise rule_error("is required when a list has several sections", index, "title")
        return sections

    @property
    def options(self) -> dict[str, str]:
        """Button or row id → title: the choices a reply can pick, usable as edge labels."""
        if self.interactive_type == "button":
            return {button.id: button.title for button in self.buttons or []}
        return {row.id: row.title for s in self.list_sections or [] for row in s.rows}

    @property
    def ai_field_paths(self) -> list[str]:
        """Which of the body, header and footer the model writes."""
        texts = {"body_text": self.body_text, "header_text": self.header_text}
        texts["footer_text"] = self.footer_text
        return [name for name, value in texts.items() if isinstance(value, AIField)]


TemplateParameters: TypeAlias = list[Any] | dict[str, Any]


class SendTemplateConfig(AIFieldsConfig):
    """Sends an approved WhatsApp template, filling its parameters from ``{{...}}`` (or, for
    an AI field, by the node's model)."""

    template_name: str = Field(
        min_length=1, validation_alias=AliasChoices("template_name", "template_id")
    )
    language: str = Field(
        default="en_US", min_length=1, validation_alias=AliasChoices("language", "language_code")
    )
    parameters: TemplateParameters | None = None
    whatsapp_config_id: str | None = None

    @field_validator("parameters", mode="wrap")
    @classmethod
    def _one_parameters_error(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return single_error(value, handler, "must be a list or an object")

    @model_validator(mode="before")
    @classmethod
    def _merge_parameter_aliases(cls, data: Any) -> Any:
        # The SDK emits the same value under both names; differing values are ambiguous.
        if not isinstance(data, Mapping) or "template_params" not in data:
            return data
        if "parameters" in data and data["parameters"] != data["template_params"]:
            raise rule_error("parameters and template_params differ", "template_params")
        return {**data, "parameters": data["template_params"]}

    @property
    def ai_field_paths(self) -> list[str]:
        """The dotted paths (``parameters.2``) of the parameters the model writes."""
        return [dotted((PARAMETERS, *path)) for path in _marker_paths(self.parameters)]


class SetVariableConfig(Config):
    """Assigns flow variables; string values may hold ``{{...}}`` templates."""

    variables: dict[VariableName, Any] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _accept_single_form(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "variables" not in data and "variable" in data:
            return {"variables": {data["variable"]: data.get("value")}}
        return data


class WebhookConfig(Config):
    """Calls an HTTP endpoint; url, headers and body may hold ``{{...}}`` templates."""

    url: str = Field(min_length=1)
    method: HttpMethod = Field(
        default="POST", validation_alias=AliasChoices("method", "http_method")
    )
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | list[Any] | str | None = None
    save_response_to: VariableName | None = None
    timeout_seconds: float = Field(default=10, ge=0.1, le=60)
    retries: int = Field(default=2, ge=0, le=10)

    @field_validator("body", mode="wrap")
    @classmethod
    def _one_body_error(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        body = single_error(value, handler, "must be an object, a list or a string")
        if isinstance(body, str) and body.lstrip().startswith(("{", "[")):
            try:
                json.loads(body)
            except ValueError:
                raise rule_error(
                    "looks like JSON but is not valid JSON: put each {{...}} inside a string "
                    '("{{vars.n}}" on its own keeps the variable\'s type)'
                ) from None
        return body

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        if url_origin(url) is None:
            raise rule_error(ORIGIN_RULE)
        return url

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, method: Any) -> Any:
        return method.upper() if isinstance(method, str) else method


class FunctionConfig(Config):
    """Runs a deployed function; its result may be saved into a variable."""

    function_id: str = Field(min_length=1)
    save_response_to: VariableName | None = None


class Condition(Config):
    """One branch of a decide node; edges leaving the node are labelled with it."""

    label: str = Field(min_length=1, max_length=100)
    description: str = ""


class DecideConfig(Config):
    """Chooses a branch: a function returns the label of the edge to follow, or (``ai``) a
    model picks one of the conditions by their descriptions."""

    decision_type: Literal["function", "ai"] = "ai"
    function_id: str | None = Field(default=None, min_length=1, validate_default=True)
    provider_model_name: str | None = Field(default=None, min_length=1, validate_default=True)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    llm_max_tokens: int = Field(default=10_000, ge=1, le=200_000)
    conditions: list[Condition] = Field(min_length=1)

    @field_validator("function_id")
    @classmethod
    def _require_function(cls, function_id: str | None, info: ValidationInfo) -> str | None:
        if function_id is None and info.data.get("decision_type") == "function":
            raise rule_error("is required for function decisions")
        return function_id

    @field_validator("provider_model_name")
    @classmethod
    def _require_model(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is None and info.data.get("decision_type") == "ai":
            raise rule_error("is required for AI decisions (the model that picks the branch)")
        return name

    @field_validator("conditions")
    @classmethod
    def _unique_labels(cls, conditions: list[Condition]) -> list[Condition]:
        if dups := duplicates(c.label for c in conditions):
            raise rule_error(f"duplicate condition labels: {', '.join(dups)}")
        return conditions

    @property
    def labels(self) -> tuple[str, ...]:
        """The condition labels, in order."""
        return tuple(condition.label for condition in self.conditions)


NodeConfig: TypeAlias = (
    StartConfig
    | SendTextConfig
    | WaitForResponseConfig
    | SendInteractiveConfig
    | SendTemplateConfig
    | SetVariableConfig
    | WebhookConfig
    | FunctionConfig
    | DecideConfig
    | HandoffConfig
    | AgentConfig
)

NODE_CONFIGS: Mapping[str, type[NodeConfig]] = {
    "start": StartConfig,
    "send_text": SendTextConfig,
    "wait_for_response": WaitForResponseConfig,
    "send_interactive": SendInteractiveConfig,
    "send_template": SendTemplateConfig,
    "set_variable": SetVariableConfig,
    "webhook": WebhookConfig,
    "function": FunctionConfig,
    "decide": DecideConfig,
    "handoff": HandoffConfig,
    "agent": AgentConfig,
}
"""The config model of every node type Threadline can run."""


def parse_node_config(node_type: str, config: Mapping[str, Any]) -> NodeConfig:
    """Validate ``config`` for ``node_type``.

    Raises ``KeyError`` for an unknown node type and ``pydantic.ValidationError`` for a
    config that does not fit its model.
    """
    return NODE_CONFIGS[node_type].model_validate(config)
