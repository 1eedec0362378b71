"""Flow definition parsing and validation: every rule, each with the node and field it names."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from threadline.flows.definition import (
    DefinitionInvalid,
    FlowDefinition,
    Problem,
    validate_definition,
)
from threadline.flows.definition_checks import AI_FIELDS_NOT_AVAILABLE, AI_NOT_AVAILABLE
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

Definition = dict[str, Any]
Mutation = Callable[[Definition], None]
Expected = tuple[str | None, str, str]  # node id, field, a fragment of the message


def node(node_id: Any, node_type: Any, config: Any = None, **data: Any) -> dict[str, Any]:
    """A node in the builder SDK's shape."""
    body: dict[str, Any] = {"node_type": node_type, "config": {} if config is None else config}
    return {"id": node_id, "type": "flow-node", "data": body | data}


def edge(source: Any, target: Any, label: Any = "next") -> dict[str, Any]:
    """An edge in the builder SDK's shape."""
    return {"source": source, "target": target, "label": label}


BASE: Definition = {
    "nodes": [
        node("start", "start"),
        node("greet", "send_text", {"message": "Hi! What is your order number?"}),
        node("wait_order", "wait_for_response", {"timeout_seconds": 300}),
        node(
            "route",
            "decide",
            {
                "decision_type": "function",
                "function_id": "fn_1",
                "conditions": [
                    {"label": "has_number", "description": "User gave an order number"},
                    {"label": "human", "description": "User wants a human"},
                ],
            },
        ),
        node("lookup", "function", {"function_id": "fn_123", "save_response_to": "order"}),
        node("reply", "send_text", {"message": "Your order is {{vars.order.status}}"}),
        node("handoff", "handoff"),
    ],
    "edges": [
        edge("start", "greet"),
        edge("greet", "wait_order"),
        edge("wait_order", "route"),
        edge("route", "lookup", "has_number"),
        edge("route", "handoff", "human"),
        edge("lookup", "reply"),
    ],
}
NEW_NODE = len(BASE["nodes"])  # index of an appended node
NEW_EDGE = len(BASE["edges"])  # index of an appended edge

BUTTONS: dict[str, Any] = {
    "body_text": "Pick one",
    "buttons": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}],
}
LIST: dict[str, Any] = {
    "interactive_type": "list",
    "body_text": "Pick one",
    "list_button_text": "Options",
    "list_sections": [{"title": "S", "rows": [{"id": "r1", "title": "Row 1"}]}],
}


def base() -> Definition:
    return copy.deepcopy(BASE)


def _node(definition: Definition, node_id: str) -> dict[str, Any]:
    return next(n for n in definition["nodes"] if n["id"] == node_id)


def set_config(node_id: str, **values: Any) -> Mutation:
    def mutate(definition: Definition) -> None:
        _node(definition, node_id)["data"]["config"].update(values)

    return mutate


def drop_config(node_id: str, *keys: str) -> Mutation:
    def mutate(definition: Definition) -> None:
        for key in keys:
            del _node(definition, node_id)["data"]["config"][key]

    return mutate


def add_nodes(*nodes: Any) -> Mutation:
    return lambda definition: definition["nodes"].extend(nodes)


def add_edges(*edges: Any) -> Mutation:
    return lambda definition: definition["edges"].extend(edges)


def add_after_reply(new: dict[str, Any]) -> Mutation:
    """Append ``new`` as node ``x`` reachable from ``reply``."""

    def mutate(definition: Definition) -> None:
        definition["nodes"].append(new)
        definition["edges"].append(edge("reply", "x"))

    return mutate


def drop_edge(source: str, label: str) -> Mutation:
    def mutate(definition: Definition) -> None:
        definition["edges"] = [
            e for e in definition["edges"] if (e["source"], e["label"]) != (source, label)
        ]

    return mutate


def replace_node(node_id: str, new: dict[str, Any]) -> Mutation:
    def mutate(definition: Definition) -> None:
        nodes = definition["nodes"]
        nodes[nodes.index(_node(definition, node_id))] = new

    return mutate


def problems_of(raw: object) -> list[Problem]:
    with pytest.raises(DefinitionInvalid) as caught:
        validate_definition(raw)
    return caught.value.problems


def assert_problems(problems: list[Problem], expected: list[Expected]) -> None:
    got = [(p.node_id, p.field) for p in problems]
    assert got == [(node_id, field) for node_id, field, _ in expected], problems
    for problem, (_, _, fragment) in zip(problems, expected, strict=True):
        assert fragment in problem.message, problem


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
    greet = _node(raw, "greet")
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
    decide = parse_node_config("decide", {"conditions": [{"label": "a"}]})

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
    assert decide.decision_type == "ai"
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
        [("x", "node_type", AI_NOT_AVAILABLE)],
        id="agent",
    ),
    pytest.param(
        add_after_reply(node("x", "pipedream")),
        [("x", "node_type", "pipedream nodes are not supported")],
        id="pipedream",
    ),
    pytest.param(
        set_config("route", decision_type="ai", provider_model_name="m"),
        [("route", "config.decision_type", AI_NOT_AVAILABLE)],
        id="ai-decide",
    ),
    pytest.param(
        drop_config("route", "decision_type", "function_id"),
        [("route", "config.decision_type", AI_NOT_AVAILABLE)],
        id="ai-decide-by-default",
    ),
    pytest.param(
        set_config("greet", message=AI_MARK, ai_field_config={"message": {"mode": "prompt"}}),
        [
            ("greet", "config.message", AI_FIELDS_NOT_AVAILABLE),
            ("greet", "config.ai_field_config", AI_FIELDS_NOT_AVAILABLE),
        ],
        id="ai-field",
    ),
    pytest.param(
        add_after_reply(
            node("x", "send_template", {"template_id": "t", "parameters": [1, AI_MARK]})
        ),
        [("x", "config.parameters[1]", AI_FIELDS_NOT_AVAILABLE)],
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
    # send_interactive
    pytest.param(
        add_after_reply(node("x", "send_interactive", {"body_text": "b"})),
        [("x", "config.buttons", "is required for button messages")],
        id="buttons-missing",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_interactive",
                {"body_text": "b", "buttons": [{"id": "a", "title": "A"}] * 4},
            )
        ),
        [("x", "config.buttons", "at most 3")],
        id="too-many-buttons",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_interactive",
                {
                    "body_text": "b",
                    "buttons": [{"id": "a", "title": "A"}, {"id": "b", "title": "T" * 21}],
                },
            )
        ),
        [("x", "config.buttons[1].title", "at most 20")],
        id="button-title-long",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_interactive",
                {
                    "body_text": "b",
                    "buttons": [{"id": "a", "title": "A"}, {"id": "a", "title": "A"}],
                },
            )
        ),
        [("x", "config.buttons", "duplicate button ids: a; duplicate button titles: A")],
        id="duplicate-buttons",
    ),
    pytest.param(
        add_after_reply(node("x", "send_interactive", BUTTONS | {"header_text": "h" * 61})),
        [("x", "config.header_text", "at most 60")],
        id="header-long",
    ),
    pytest.param(
        add_after_reply(node("x", "send_interactive", BUTTONS | {"interactive_type": "carousel"})),
        [("x", "config.interactive_type", "'button' or 'list'")],
        id="interactive-type",
    ),
    pytest.param(
        add_after_reply(
            node("x", "send_interactive", {"interactive_type": "list", "body_text": "b"})
        ),
        [
            ("x", "config.list_button_text", "is required for list messages"),
            ("x", "config.list_sections", "is required for list messages"),
        ],
        id="list-parts-missing",
    ),
    pytest.param(
        add_after_reply(
            node("x", "send_interactive", LIST | {"list_sections": LIST["list_sections"] * 11})
        ),
        [("x", "config.list_sections", "at most 10")],
        id="too-many-sections",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_interactive",
                LIST
                | {
                    "list_sections": [
                        {"rows": [{"id": f"r{i}", "title": "R"} for i in range(11)]},
                    ]
                },
            )
        ),
        [("x", "config.list_sections", "1 to 10 rows in total, not 11")],
        id="too-many-rows",
    ),
    pytest.param(
        add_after_reply(
            node("x", "send_interactive", LIST | {"list_sections": LIST["list_sections"] * 2})
        ),
        [("x", "config.list_sections", "duplicate row ids: r1")],
        id="duplicate-rows",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_interactive",
                LIST
                | {
                    "list_sections": [
                        {"title": "A", "rows": [{"id": "r1", "title": "R"}]},
                        {"rows": [{"id": "r2", "title": "R"}]},
                    ]
                },
            )
        ),
        [("x", "config.list_sections[1].title", "required when a list has several sections")],
        id="section-title",
    ),
    pytest.param(
        add_after_reply(
            node(
                "x",
                "send_interactive",
                LIST | {"list_sections": [{"rows": [{"id": "r", "title": "R" * 25}]}]},
            )
        ),
        [("x", "config.list_sections[0].rows[0].title", "at most 24")],
        id="row-title-long",
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
    # Start node
    pytest.param(
        replace_node("start", node("start", "send_text", {"message": "m"})),
        [(None, "nodes", "exactly one start node; found none")],
        id="no-start",
    ),
    pytest.param(
        lambda d: (add_nodes(node("start2", "start"))(d), add_edges(edge("start2", "greet"))(d)),
        [(None, "nodes", "exactly one start node; found 2: 'start', 'start2'")],
        id="two-starts",
    ),
    pytest.param(
        drop_edge("start", "next"),
        [("start", "edges", "the start node has no outgoing edge")]
        + [
            (n, "id", "unreachable from start")
            for n in ("greet", "wait_order", "route", "lookup", "reply", "handoff")
        ],
        id="start-without-exit",
    ),
    # Edges
    pytest.param(
        add_edges("x"), [(None, f"edges[{NEW_EDGE}]", "must be an object")], id="edge-not-object"
    ),
    pytest.param(
        add_edges({"target": "greet"}),
        [(None, f"edges[{NEW_EDGE}].source", "is required")],
        id="edge-source-missing",
    ),
    pytest.param(
        add_edges(edge("ghost", "greet")),
        [(None, f"edges[{NEW_EDGE}].source", "unknown node 'ghost'")],
        id="edge-source-unknown",
    ),
    pytest.param(
        add_edges(edge("reply", "ghost")),
        [("reply", f"edges[{NEW_EDGE}].target", "unknown node 'ghost'")],
        id="edge-target-unknown",
    ),
    pytest.param(
        add_edges(edge("reply", 7)),
        [("reply", f"edges[{NEW_EDGE}].target", "must be a string")],
        id="edge-target-type",
    ),
    pytest.param(
        add_edges(edge("reply", "handoff", "")),
        [("reply", f"edges[{NEW_EDGE}].label", "must be a non-empty string")],
        id="edge-label-empty",
    ),
    pytest.param(
        add_edges(edge("reply", "handoff") | {"id": 1}),
        [("reply", f"edges[{NEW_EDGE}].id", "must be a string")],
        id="edge-id-type",
    ),
    pytest.param(
        add_edges(edge("reply", "start")),
        [("reply", f"edges[{NEW_EDGE}].target", "no edge may lead into the start node")],
        id="edge-into-start",
    ),
    pytest.param(
        add_edges(edge("greet", "handoff")),
        [
            (
                "greet",
                f"edges[{NEW_EDGE}].label",
                "a second 'next' edge leaves this node (the first is edges[1])",
            )
        ],
        id="ambiguous-next",
    ),
    pytest.param(
        add_edges(edge("route", "reply", "human")),
        [("route", f"edges[{NEW_EDGE}].label", "a second 'human' edge")],
        id="ambiguous-condition",
    ),
    pytest.param(
        add_edges(edge("reply", "handoff", "maybe")),
        [
            (
                "reply",
                f"edges[{NEW_EDGE}].label",
                "'maybe' is not an exit of a send_text node (allowed: next)",
            )
        ],
        id="plain-node-label",
    ),
    pytest.param(
        add_edges(edge("greet", "handoff", "timeout")),
        [("greet", f"edges[{NEW_EDGE}].label", "'timeout' is not an exit of a send_text node")],
        id="timeout-exit-only-on-wait",
    ),
    pytest.param(
        add_edges(edge("wait_order", "handoff", "error")),
        [("wait_order", f"edges[{NEW_EDGE}].label", "(allowed: next, timeout)")],
        id="error-exit-not-on-wait",
    ),
    pytest.param(
        add_edges(edge("handoff", "reply", "error")),
        [("handoff", f"edges[{NEW_EDGE}].label", "(allowed: next)")],
        id="handoff-label",
    ),
    pytest.param(
        add_edges(edge("route", "reply", "other")),
        [
            (
                "route",
                f"edges[{NEW_EDGE}].label",
                "'other' matches no condition of this decide node (conditions: has_number, human)",
            )
        ],
        id="decide-extra-label",
    ),
    pytest.param(
        add_edges(edge("route", "reply")),
        [("route", f"edges[{NEW_EDGE}].label", "'next' matches no condition")],
        id="decide-next-label",
    ),
    pytest.param(
        drop_edge("route", "human"),
        [
            ("route", "config.conditions[1].label", "condition 'human' has no outgoing edge"),
            ("handoff", "id", "unreachable from start"),
        ],
        id="decide-missing-label",
    ),
    pytest.param(
        add_nodes(node("orphan", "send_text", {"message": "m"})),
        [("orphan", "id", "unreachable from start")],
        id="unreachable",
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), CASES)
def test_each_rule(mutation: Mutation, expected: list[Expected]) -> None:
    raw = base()
    mutation(raw)
    assert_problems(problems_of(raw), expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["nodes"], [(None, "definition", "must be a JSON object")]),
        ({}, [(None, "nodes", "must be a non-empty list")]),
        ({"nodes": []}, [(None, "nodes", "must be a non-empty list")]),
        (
            {"nodes": [node("s", "start")], "edges": {}},
            [
                (None, "edges", "must be a list"),
                ("s", "edges", "the start node has no outgoing edge"),
            ],
        ),
    ],
)
def test_definition_shape(raw: object, expected: list[Expected]) -> None:
    assert_problems(problems_of(raw), expected)


def test_reports_every_problem_at_once() -> None:
    raw = base()
    set_config("greet", message="")(raw)
    set_config("wait_order", timeout_seconds=1)(raw)
    drop_config("route", "function_id")(raw)
    add_nodes(node("greet", "handoff"), node("bot", "agent"), "junk")(raw)
    add_edges(edge("reply", "ghost"), edge("greet", "reply"), edge("route", "reply", "other"))(raw)

    problems = problems_of(raw)

    assert [(p.node_id, p.field) for p in problems] == [
        ("greet", "config.message"),
        ("wait_order", "config.timeout_seconds"),
        ("route", "config.function_id"),
        ("greet", "id"),
        ("bot", "node_type"),
        (None, "nodes[9]"),
        ("reply", "edges[6].target"),
        ("greet", "edges[7].label"),
        ("route", "edges[8].label"),
        ("bot", "id"),
    ]


def test_definition_invalid_error_body() -> None:
    raw = base()
    set_config("greet", message="")(raw)
    add_nodes(node("orphan", "handoff"))(raw)

    with pytest.raises(DefinitionInvalid) as caught:
        validate_definition(raw)
    body = caught.value.body()

    assert body["status"] == 422
    assert body["error"] == "Invalid flow definition"
    assert body["message"] == (
        "2 problems: node 'greet' config.message: String should have at least 1 character; "
        "node 'orphan' id: unreachable from start"
    )
    assert body["details"] == body["message"]
    assert body["errors"] == [
        {
            "node_id": "greet",
            "field": "config.message",
            "message": "String should have at least 1 character",
        },
        {"node_id": "orphan", "field": "id", "message": "unreachable from start"},
    ]


def test_long_summary_is_truncated() -> None:
    raw = base()
    add_nodes(*[node(f"orphan{i}", "handoff") for i in range(12)])(raw)

    error = DefinitionInvalid(problems_of(raw))

    assert error.message.startswith("12 problems: node 'orphan0' id: unreachable from start; ")
    assert error.message.endswith("; and 2 more")


def test_start_node_missing_on_unchecked_model() -> None:
    flow = FlowDefinition.model_validate({"nodes": [node("a", "handoff")], "edges": []})

    with pytest.raises(DefinitionInvalid):
        _ = flow.start_node
