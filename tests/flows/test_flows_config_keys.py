"""Misspelt node config keys are refused with the valid keys and the closest match, every
key the builder SDK emits is still accepted, and an invalid config is reported once."""

from __future__ import annotations

from typing import Any

import pytest
from definition_samples import (
    BUTTONS,
    add_after_reply,
    add_edges,
    assert_problems,
    base,
    edge,
    node,
    problems_of,
    set_config,
)

from threadline.flows.definition import validate_definition


def test_misspelt_wait_keys_are_refused_with_the_closest_match() -> None:
    definition = base()
    set_config("wait_order", timeout=60, save_to="answer")(definition)

    problems = problems_of(definition)

    assert_problems(
        problems,
        [
            ("wait_order", "config.timeout", ""),
            ("wait_order", "config.save_to", ""),
        ],
    )
    timeout, save_to = (p.message for p in problems)
    assert "did you mean 'timeout_seconds'?" in timeout
    assert "did you mean 'save_response_to'?" in save_to
    for message in (timeout, save_to):
        assert "valid keys: save_response_to, timeout_seconds" in message


def test_a_key_like_nothing_lists_the_valid_keys_without_a_guess() -> None:
    definition = base()
    set_config("lookup", zzzz=1)(definition)

    (problem,) = problems_of(definition)

    assert problem.field == "config.zzzz"
    assert "did you mean" not in problem.message
    assert "valid keys: function_id, save_response_to" in problem.message


def test_a_node_type_without_settings_says_so() -> None:
    definition = base()
    set_config("handoff", queue="sales")(definition)

    (problem,) = problems_of(definition)

    assert problem.field == "config.queue"
    assert "takes no settings" in problem.message


# Every config key the official SDK emits (see research/kapso_sdk.md, section 1.2), with
# values Threadline accepts; AI-only settings sit on nodes that are not AI themselves.
SDK_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("send_text", {"message": "Hi", "whatsapp_config_id": "w1", "provider_model_name": "m"}),
    ("wait_for_response", {"timeout_seconds": 300}),
    (
        "decide",
        {
            "decision_type": "function",
            "function_id": "fn_9",
            "conditions": [{"label": "next", "description": "y"}],
            "provider_model_name": "m",
            "llm_temperature": 0.0,
            "llm_max_tokens": 10000,
        },
    ),
    (
        "send_template",
        {
            "template_id": "tmpl_1",
            "whatsapp_config_id": "w1",
            "parameters": {"1": "John"},
            "template_params": {"1": "John"},
            "provider_model_name": "m",
        },
    ),
    (
        "send_interactive",
        {
            "interactive_type": "button",
            "body_text": "Pick",
            "whatsapp_config_id": "w1",
            "header_type": "text",
            "header_text": "H",
            "header_media_url": "https://x.test/i.png",
            "footer_text": "F",
            "buttons": [{"id": "a", "title": "A"}],
            "list_button_text": None,
            "list_sections": None,
            "cta_display_text": "Open",
            "cta_url": "https://x.test",
            "flow_id": "f1",
            "flow_cta": "Go",
            "flow_token": "t",
            "provider_model_name": "m",
        },
    ),
    ("function", {"function_id": "fn_123", "save_response_to": "order"}),
    ("handoff", {}),
    ("start", {}),
]


@pytest.mark.parametrize(("node_type", "config"), SDK_CONFIGS, ids=[t for t, _ in SDK_CONFIGS])
def test_every_key_the_sdk_emits_is_accepted(node_type: str, config: dict[str, Any]) -> None:
    definition = base()
    if node_type == "start":
        definition["nodes"][0]["data"]["config"] = config
    else:
        add_after_reply(node("x", node_type, config))(definition)
    if node_type == "decide":
        add_edges(edge("x", "handoff", "next"))(definition)

    validate_definition(definition)


def test_a_too_long_button_title_is_the_only_problem_reported() -> None:
    definition = base()
    buttons = [{"id": "a", "title": "A" * 30}, {"id": "b", "title": "B"}]
    add_after_reply(node("x", "send_interactive", {**BUTTONS, "buttons": buttons}))(definition)
    add_edges(edge("x", "handoff", "a"), edge("x", "greet_again", "b"))(definition)
    definition["nodes"].append(node("greet_again", "send_text", {"message": "Again"}))

    problems = problems_of(definition)

    assert_problems(problems, [("x", "config.buttons[0].title", "")])
    assert "20 characters" in problems[0].message
