"""Shared samples for the flow definition tests: the SDK example and ways to break it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from threadline.flows.definition import DefinitionInvalid, Problem, validate_definition

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


def get_node(definition: Definition, node_id: str) -> dict[str, Any]:
    return next(n for n in definition["nodes"] if n["id"] == node_id)


def set_config(node_id: str, **values: Any) -> Mutation:
    def mutate(definition: Definition) -> None:
        get_node(definition, node_id)["data"]["config"].update(values)

    return mutate


def drop_config(node_id: str, *keys: str) -> Mutation:
    def mutate(definition: Definition) -> None:
        for key in keys:
            del get_node(definition, node_id)["data"]["config"][key]

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
        nodes[nodes.index(get_node(definition, node_id))] = new

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


def check_rule(mutation: Mutation, expected: list[Expected]) -> None:
    """Apply ``mutation`` to the sample and assert exactly the ``expected`` problems."""
    raw = base()
    mutation(raw)
    assert_problems(problems_of(raw), expected)
