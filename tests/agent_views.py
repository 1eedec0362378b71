"""Typed builders of the agent interpreter's inputs: graph views, states, model replies."""

from __future__ import annotations

import itertools
from typing import Any

from threadline.engine.agent.graph import END, START, AgentEdge, AgentGraph, AgentNode
from threadline.engine.agent.state import AgentState
from threadline.llm.types import ModelReply, ToolCall, Usage

PHONE = "15550001111"
_ids = itertools.count(1)


def graph(
    *nodes: AgentNode, edges: list[tuple[str, str] | tuple[str, str, str]], **kw: Any
) -> AgentGraph:
    """A graph of ``nodes`` with ``(source, target[, condition])`` edges."""
    return AgentGraph(
        name="Test agent",
        system_prompt=kw.pop("system_prompt", "Be brief."),
        nodes={n.name: n for n in nodes},
        edges=tuple(AgentEdge(*e) for e in edges),
        **kw,
    )


def support_graph(**kw: Any) -> AgentGraph:
    """start → greet → (order questions) orders → end; a global ``human`` handoff."""
    return graph(
        AgentNode("greet", prompt="Greet the user and ask what they need."),
        AgentNode("orders", prompt="Help with the order."),
        AgentNode(
            "human",
            type="HandoffNode",
            is_global=True,
            global_condition="the user asks for a person",
        ),
        edges=[
            (START, "greet"),
            ("greet", "orders", "the user asks about an order"),
            ("orders", END),
        ],
        **kw,
    )


def new_state() -> AgentState:
    """A state before the start, for the contact :data:`PHONE`."""
    contact = {"phone_number": PHONE, "profile_name": "Ana"}
    return AgentState(node=START, metadata={"agent_id": "a1", "contact_information": contact})


def call(name: str, **arguments: Any) -> ToolCall:
    """A well-formed tool call with a fresh id."""
    return ToolCall(id=f"call_{next(_ids)}", name=name, arguments=arguments)


def reply(*calls: ToolCall, text: str = "") -> ModelReply:
    """What a model answered."""
    return ModelReply(text=text, tool_calls=calls, usage=Usage(10, 5), model="local")
