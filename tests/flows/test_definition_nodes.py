"""Flow definition parsing and validation: valid definitions and the node and config rules,
each with the node and field it names."""

from __future__ import annotations

from typing import Any

import pytest
from definition_samples import (
    BUTTONS,
    LIST,
    NEW_EDGE,
    NEW_NODE,
    Expected,
    Mutation,
    add_after_reply,
    add_edges,
    add_nodes,
    base,
    check_rule,
    drop_config,
    edge,
    get_node,
    node,
    set_config,
)
from pydantic import ValidationError

from threadline.flows.definition import validate_definition
from threadline.flows.node_configs import (
    DecideConfig,
    FunctionConfig,
    SendInteractiveConfig,
    SendTemplateConfig,
    SetVariableConfig,
    StartConfig,
    WaitForResponseConfig,
    WebhookConfig,
    parse_node_config,
)

# Valid definitions


def test_sdk_example_validates_and_indexes() -> None:
    flow = validate_definition(base())

    assert flow.start_node.id == "start"
    assert flow.next_node_id("start") == "greet"
    assert flow.next_node_id("route", "human") == "handoff"
    assert flow.next_node_id("route") is None
    assert flow.next_node_id("reply") is None
    assert [e.label for e in flow.edges_from("route")] == ["has_number", "human"]
    assert flow.edges_from("handoff") == []
    assert flow.edges_from("ghost") == []
    route = flow.node("route").config
    assert isinstance(route, DecideConfig)
    assert route.labels == ("has_number", "human")
    assert flow.node("lookup").config == FunctionConfig(
        function_id="fn_123", save_response_to="order"
    )
    assert isinstance(flow.start_node.config, StartConfig)
    assert flow.has_node("greet") and not flow.has_node("ghost")
    with pytest.raises(KeyError):
        flow.node("ghost")


def test_camel_case_aliases_and_canonical_json() -> None:
    raw = base()
    greet = get_node(raw, "greet")
    greet["position"] = {"x": 10, "y": 20.5}
    greet["data"] = {
        "nodeType": "send_text",
        "displayName": "Greeting",
        "config": {"message": "Hi", "provider_model_name": "m", "whatsapp_config_id": "wa_1"},
    }
    raw["edges"][0] = {"id": "e1", "source": "start", "target": "greet"}  # label defaults

    flow = validate_definition(raw)
    stored = flow.to_json()

    assert flow.node("greet").display_name == "Greeting"
    assert stored["nodes"][1] == {
        "id": "greet",
        "type": "flow-node",
        "position": {"x": 10.0, "y": 20.5},
        "data": {
            "node_type": "send_text",
            "config": {"message": "Hi", "provider_model_name": "m", "whatsapp_config_id": "wa_1"},
            "display_name": "Greeting",
        },
    }
    assert stored["edges"][0] == {"id": "e1", "source": "start", "target": "greet", "label": "next"}
    assert validate_definition(stored).to_json() == stored


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(add_edges(edge("wait_order", "handoff", "timeout")), id="wait-timeout-exit"),
        pytest.param(add_edges(edge("lookup", "handoff", "error")), id="function-error-exit"),
        pytest.param(add_edges(edge("handoff", "greet")), id="handoff-next-after-resume"),
        pytest.param(
            add_after_reply(node("x", "webhook", {"url": "https://h/{{vars.id}}"})),
            id="webhook",
        ),
        pytest.param(add_after_reply(node("x", "send_interactive", BUTTONS)), id="buttons"),
        pytest.param(add_after_reply(node("x", "send_interactive", LIST)), id="list"),
        pytest.param(
            add_after_reply(node("x", "set_variable", {"variable": "a", "value": 1})),
            id="set-variable-single-form",
        ),
        pytest.param(
            add_after_reply(node("x", "send_template", {"template_id": "t", "parameters": ["a"]})),
            id="template",
        ),
        pytest.param(drop_config("wait_order", "timeout_seconds"), id="wait-without-timeout"),
    ],
)
def test_valid_variants(mutation: Mutation) -> None:
    raw = base()
    mutation(raw)
    validate_definition(raw)


def test_webhook_error_exit() -> None:
    raw = base()
    add_after_reply(node("x", "webhook", {"url": "http://h", "http_method": "get"}))(raw)
    add_edges(edge("x", "handoff", "error"))(raw)

    flow = validate_definition(raw)

    assert flow.next_node_id("x", "error") == "handoff"
    webhook = flow.node("x").config
    assert isinstance(webhook, WebhookConfig)
    assert webhook.method == "GET"


# Node configs


@pytest.mark.parametrize(
    ("node_type", "config", "expected"),
    [
        (
            "send_template",
            {"template_id": "t", "language_code": "es", "template_params": {"1": "x"}},
            SendTemplateConfig(template_name="t", language="es", parameters={"1": "x"}),
        ),
        (
            "send_template",
            {"template_id": "t", "parameters": [1], "template_params": [1]},
            SendTemplateConfig(template_name="t", parameters=[1]),
        ),
        ("set_variable", {"variable": "a", "value": [1]}, SetVariableConfig(variables={"a": [1]})),
        (
            "set_variable",
            {"variables": {"a": "{{x}}"}},
            SetVariableConfig(variables={"a": "{{x}}"}),
        ),
        ("wait_for_response", {}, WaitForResponseConfig()),
        (
            "webhook",
            {"url": "https://h", "method": "patch", "extra": 1},
            WebhookConfig(url="https://h", method="PATCH"),
        ),
    ],
)
def test_parse_node_config(node_type: str, config: dict[str, Any], expected: object) -> None:
    assert parse_node_config(node_type, config) == expected


def test_config_defaults_and_frozen() -> None:
    webhook = parse_node_config("webhook", {"url": "http://h"})
    interactive = parse_node_config("send_interactive", BUTTONS)
    decide = parse_node_config(
        "decide", {"provider_model_name": "m", "conditions": [{"label": "a"}]}
    )

    assert isinstance(webhook, WebhookConfig)
    assert (webhook.method, webhook.headers, webhook.timeout_seconds, webhook.retries) == (
        "POST",
        {},
        10,
        2,
    )
    assert isinstance(interactive, SendInteractiveConfig)
    assert interactive.interactive_type == "button"
    assert isinstance(decide, DecideConfig)
    assert (decide.decision_type, decide.llm_temperature, decide.llm_max_tokens) == (
        "ai",
        0,
        10_000,
    )
    assert decide.conditions[0].description == ""
    with pytest.raises(ValidationError):
        webhook.url = "http://other"  # type: ignore[misc]


# One rule at a time

AI_MARK: dict[str, Any] = {"$ai": {}}

CASES: list[Any] = [
    # Nodes
    pytest.param(
        add_nodes("x"), [(None, f"nodes[{NEW_NODE}]", "must be an object")], id="node-not-object"
    ),
    pytest.param(
        add_nodes({"data": {"node_type": "handoff"}}),
        [(None, f"nodes[{NEW_NODE}].id", "is required")],
        id="node-id-missing",
    ),
    pytest.param(
        add_nodes(node(5, "handoff")),
        [(None, f"nodes[{NEW_NODE}].id", "must be a non-empty string")],
        id="node-id-not-string",
    ),
    pytest.param(
        add_nodes(node("greet", "send_text", {"message": "again"})),
        [("greet", "id", "duplicate node id (nodes[1])")],
        id="duplicate-node-id",
    ),
    pytest.param(
        add_after_reply({"id": "x", "data": "y"}), [("x", "data", "must be an object")], id="data"
    ),
    pytest.param(
        add_after_reply({"id": "x", "data": {"config": {}}}),
        [("x", "node_type", "is required")],
        id="node-type-missing",
    ),
    pytest.param(
        add_after_reply(node("x", 3)), [("x", "node_type", "must be a string")], id="type-not-str"
    ),
    pytest.param(
        add_after_reply(node("x", "bogus")),
        [("x", "node_type", "unknown node type 'bogus'; known types: start, send_text,")],
        id="unknown-node-type",
    ),
    pytest.param(
        add_after_reply(node("x", "agent", {"system_prompt": "p"})),
        [("x", "config.provider_model_name", "Field required")],
        id="agent-needs-a-model",
    ),
    pytest.param(
        add_after_reply(node("x", "pipedream")),
        [("x", "node_type", "pipedream nodes are not supported")],
        id="pipedream",
    ),
    pytest.param(
        drop_config("route", "decision_type", "function_id"),
        [("route", "config.provider_model_name", "is required for AI decisions")],
        id="ai-decide-needs-a-model",
    ),
    pytest.param(
        set_config("route", decision_type="ai", provider_model_name="m", llm_temperature=3),
        [("route", "config.llm_temperature", "less than or equal to 2")],
        id="ai-decide-temperature",
    ),
    pytest.param(
        set_config("greet", message=AI_MARK, ai_field_config={"message": {"mode": "prompt"}}),
        [
            ("greet", "config.ai_field_config.message.prompt", "must be a non-empty text"),
            ("greet", "config.provider_model_name", "is required with AI fields"),
        ],
        id="ai-field",
    ),
    pytest.param(
        add_after_reply(
            node("x", "send_template", {"template_id": "t", "parameters": [1, AI_MARK]})
        ),
        [
            ("x", "config.parameters[1]", "is an AI field without a prompt"),
            ("x", "config.provider_model_name", "is required with AI fields"),
        ],
        id="nested-ai-field",
    ),
    pytest.param(
        add_after_reply(node("x", "send_text", {"message": "m"}, display_name=1)),
        [("x", "display_name", "must be a string")],
        id="display-name",
    ),
    pytest.param(
        add_after_reply(node("x", "handoff") | {"position": {"x": "left"}}),
        [("x", "position", "numeric x and y")],
        id="position",
    ),
    pytest.param(
        add_after_reply(node("x", "send_text", ["m"])),
        [("x", "config", "must be an object")],
        id="config-not-object",
    ),
    # send_text / wait_for_response / function
    pytest.param(
        drop_config("greet", "message"),
        [("greet", "config.message", "Field required")],
        id="message-missing",
    ),
    pytest.param(
        set_config("greet", message=""),
        [("greet", "config.message", "at least 1")],
        id="message-empty",
    ),
    pytest.param(
        set_config("greet", message="m" * 4097),
        [("greet", "config.message", "at most 4096")],
        id="message-long",
    ),
    pytest.param(
        set_config("wait_order", timeout_seconds=5),
        [("wait_order", "config.timeout_seconds", "greater than or equal to 10")],
        id="timeout-short",
    ),
    pytest.param(
        set_config("wait_order", timeout_seconds=604_801),
        [("wait_order", "config.timeout_seconds", "less than or equal to 604800")],
        id="timeout-long",
    ),
    pytest.param(
        set_config("wait_order", save_response_to="1st"),
        [("wait_order", "config.save_response_to", "'1st' is not a variable name")],
        id="save-response-to",
    ),
    pytest.param(
        drop_config("lookup", "function_id"),
        [("lookup", "config.function_id", "Field required")],
        id="function-id",
    ),
    # send_template / set_variable / webhook / decide
    pytest.param(
        add_after_reply(node("x", "send_template", {"language": "en"})),
        [("x", "config.template_name", "Field required")],
        id="template-name",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_template",
                {"template_id": "t", "parameters": [1], "template_params": [2]},
            )
        ),
        [("x", "config.template_params", "parameters and template_params differ")],
        id="template-params-differ",
    ),
    pytest.param(
        add_after_reply(node("x", "send_template", {"template_id": "t", "parameters": 5})),
        [("x", "config.parameters", "must be a list or an object")],
        id="template-params-type",
    ),
    pytest.param(
        add_after_reply(node("x", "set_variable", {"variables": {}})),
        [("x", "config.variables", "at least 1")],
        id="no-variables",
    ),
    pytest.param(
        add_after_reply(node("x", "set_variable", {"variables": {"ok": 1, "not-ok": 2}})),
        [("x", "config.variables.not-ok", "'not-ok' is not a variable name")],
        id="variable-name",
    ),
    pytest.param(
        add_after_reply(node("x", "webhook", {"url": "ftp://h"})),
        [("x", "config.url", "http:// or https://")],
        id="webhook-url",
    ),
    pytest.param(
        add_after_reply(node("x", "webhook", {"url": "http://h", "http_method": "fetch"})),
        [("x", "config.http_method", "'GET', 'POST'")],
        id="webhook-method",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "webhook",
                {
                    "url": "http://h",
                    "headers": {"A": 1},
                    "body": 5,
                    "timeout_seconds": 0,
                    "retries": 11,
                },
            )
        ),
        [
            ("x", "config.headers.A", "valid string"),
            ("x", "config.body", "must be an object, a list or a string"),
            ("x", "config.timeout_seconds", "greater than or equal to 0.1"),
            ("x", "config.retries", "less than or equal to 10"),
        ],
        id="webhook-fields",
    ),
    pytest.param(
        drop_config("route", "function_id"),
        [("route", "config.function_id", "is required for function decisions")],
        id="decide-function-id",
    ),
    pytest.param(
        set_config("route", conditions=[]),
        [
            ("route", "config.conditions", "at least 1"),
            ("route", f"edges[{NEW_EDGE - 3}].label", "'has_number' matches no condition"),
            ("route", f"edges[{NEW_EDGE - 2}].label", "'human' matches no condition"),
        ],
        id="decide-no-conditions",
    ),
    pytest.param(
        set_config(
            "route", conditions=[{"label": "has_number"}, {"label": "human"}, {"label": "human"}]
        ),
        [("route", "config.conditions", "duplicate condition labels: human")],
        id="decide-duplicate-labels",
    ),
    pytest.param(
        set_config(
            "route", conditions=[{"label": "has_number"}, {"label": "human", "description": 1}]
        ),
        [("route", "config.conditions[1].description", "valid string")],
        id="decide-condition-field",
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), CASES)
def test_each_rule(mutation: Mutation, expected: list[Expected]) -> None:
    check_rule(mutation, expected)
