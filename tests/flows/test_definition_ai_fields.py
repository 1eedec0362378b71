"""AI fields in flow definitions: accepted where the builder SDK puts them, every problem
reported with its node and field, and the parsed config names its fields and prompts."""

from __future__ import annotations

from typing import Any

import pytest
from definition_samples import Expected, add_after_reply, check_rule, node

from builders import AI_FIELD, ai_fields, chain
from builders import node as sdk_node
from threadline.flows.ai_fields import AIField
from threadline.flows.definition import validate_definition
from threadline.flows.node_configs import (
    SendInteractiveConfig,
    SendTemplateConfig,
    SendTextConfig,
)

MODEL = "m"


def _prompt(text: str) -> dict[str, str]:
    return {"mode": "prompt", "prompt": text}


def _template(parameters: Any, prompts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    config = {"template_id": "t", "parameters": parameters, "template_params": parameters}
    return node("x", "send_template", config | {"ai_field_config": prompts} | extra)


def test_the_sdks_ai_fields_parse_with_their_prompts() -> None:
    parameters = {"1": "John", "2": AI_FIELD}
    prompts = {"parameters.2": "order id", "template_params.2": "order id"}
    flow = validate_definition(
        chain(
            sdk_node("start", "start"),
            sdk_node("t", "send_text", message=AI_FIELD, **ai_fields(MODEL, {"message": "hi"})),
            sdk_node(
                "p",
                "send_template",
                template_id="tmpl",
                parameters=parameters,
                template_params=parameters,
                **ai_fields(MODEL, prompts),
            ),
            sdk_node(
                "i",
                "send_interactive",
                body_text="Pick",
                header_text=AI_FIELD,
                buttons=[{"id": "a", "title": "A"}],
                **ai_fields(MODEL, {"header_text": "a title"}),
            ),
        )
    )
    text, template, menu = (flow.node(n).config for n in ("t", "p", "i"))
    assert isinstance(text, SendTextConfig) and isinstance(text.message, AIField)
    assert text.ai_fields == {"message": "hi"} and text.provider_model_name == MODEL
    assert isinstance(template, SendTemplateConfig)
    assert template.ai_fields == {"parameters.2": "order id"}
    assert isinstance(menu, SendInteractiveConfig)
    assert menu.ai_fields == {"header_text": "a title"} and menu.body_text == "Pick"


def test_a_plain_send_node_has_no_ai_fields() -> None:
    config = SendTextConfig.model_validate({"message": "Hello"})
    assert config.ai_field_paths == [] and config.ai_fields == {}


CASES: list[Any] = [
    pytest.param(
        _template(["a", AI_FIELD], {"template_params.1": _prompt("p")}),
        [("x", "config.provider_model_name", "is required with AI fields")],
        id="template-prompt-under-either-name",
    ),
    pytest.param(
        _template(
            ["a", AI_FIELD],
            {"parameters.1": _prompt("p"), "template_params.1": _prompt("q")},
            provider_model_name=MODEL,
        ),
        [("x", "config.ai_field_config.template_params.1", "differs from")],
        id="template-prompts-differ",
    ),
    pytest.param(
        _template(AI_FIELD, {"parameters": _prompt("p")}, provider_model_name=MODEL),
        [
            ("x", "config.parameters", "only parameter values can"),
            ("x", "config.template_params", "only parameter values can"),
            ("x", "config.ai_field_config.parameters", "no AI field at 'parameters'"),
        ],
        id="template-parameters-as-a-whole",
    ),
    pytest.param(
        node(
            "x",
            "send_text",
            {"message": "hi", "ai_field_config": {"message": _prompt("p")}},
        ),
        [("x", "config.ai_field_config.message", "no AI field at 'message'")],
        id="prompt-without-marker",
    ),
    pytest.param(
        node("x", "send_text", {"message": AI_FIELD, "ai_field_config": ["p"]}),
        [
            ("x", "config.ai_field_config", "must be an object"),
            ("x", "config.message", "is an AI field without a prompt"),
            ("x", "config.provider_model_name", "is required"),
        ],
        id="config-not-an-object",
    ),
    pytest.param(
        node(
            "x",
            "send_text",
            {"message": AI_FIELD, "ai_field_config": {"message": "p"}, "provider_model_name": ""},
        ),
        [
            ("x", "config.ai_field_config.message", "must be an object"),
            ("x", "config.provider_model_name", "is required"),
        ],
        id="entry-not-an-object-and-empty-model",
    ),
    pytest.param(
        node("x", "webhook", {"url": "https://example.com", "body": {"a": AI_FIELD}}),
        [("x", "config.body.a", "a webhook node takes no AI fields")],
        id="webhook",
    ),
]


@pytest.mark.parametrize(("new_node", "expected"), CASES)
def test_ai_field_rules(new_node: dict[str, Any], expected: list[Expected]) -> None:
    check_rule(add_after_reply(new_node), expected)
