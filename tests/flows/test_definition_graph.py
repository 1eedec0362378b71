"""Flow definition validation: interactive options, the start node, edges, reachability,
and definitions with several problems at once."""

from __future__ import annotations

from typing import Any

import pytest
from definition_samples import (
    BUTTONS,
    LIST,
    NEW_EDGE,
    Expected,
    Mutation,
    add_after_reply,
    add_edges,
    add_nodes,
    assert_problems,
    base,
    check_rule,
    drop_config,
    drop_edge,
    edge,
    node,
    problems_of,
    replace_node,
    set_config,
)

from threadline.flows.definition import (
    DefinitionInvalid,
    FlowDefinition,
    validate_definition,
)

# One rule at a time

CASES: list[Any] = [
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
                "'other' matches no condition of this decide node "
                "(conditions: has_number, human; or 'error')",
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
    check_rule(mutation, expected)


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
    add_nodes(node("greet", "handoff"), node("bot", "pipedream"), "junk")(raw)
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
