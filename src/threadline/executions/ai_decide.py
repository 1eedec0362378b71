"""A flow's AI decision, made from the call job: the model picks one of the conditions.

The model is offered one tool, ``choose_condition``, whose ``label`` is an enum of the
node's condition labels, and must call it (``tool_choice="required"``); a model that
answers in text instead is read leniently (the text matching one label exactly, case
aside). Whatever it picked, the engine checks it again: a label that is not a condition
takes the decide node's ``error`` edge (``engine/nodes/calls.py``).

The call itself is :func:`~threadline.executions.flow_models.ask`'s: a retryable failure
is retried with backoff; a model the project has not configured, or one that refuses the
request, takes the ``error`` edge at once; every call is recorded in the model usage.
"""

from __future__ import annotations

import uuid
from typing import Any

from threadline.engine.state import CallResult
from threadline.executions import flow_models
from threadline.kit.resources import Resources
from threadline.llm.types import ModelReply, ModelRequest, ToolSpec

CHOOSE_TOOL = "choose_condition"

_SYSTEM = (
    "You route a WhatsApp conversation of a business's automated flow. Read the customer's "
    "last message and the conversation's variables, then choose the one condition that "
    f"fits best by calling {CHOOSE_TOOL}. Conditions:\n"
)


def _conditions(request: dict[str, Any]) -> list[dict[str, str]]:
    return [c for c in request.get("conditions", []) if isinstance(c.get("label"), str)]


def _choose_tool(labels: list[str]) -> ToolSpec:
    parameters = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": labels},
            "reason": {"type": "string", "description": "why, in one short sentence"},
        },
        "required": ["label"],
    }
    return ToolSpec(CHOOSE_TOOL, "Choose the condition that fits the conversation.", parameters)


def model_request(request: dict[str, Any]) -> ModelRequest:
    """The question put to the model for one decide node's call request."""
    conditions = _conditions(request)
    listed = "\n".join(f"- {c['label']}: {c.get('description') or c['label']}" for c in conditions)
    return ModelRequest(
        system=_SYSTEM + listed,
        messages=(flow_models.facts(request),),
        tools=(_choose_tool([c["label"] for c in conditions]),),
        tool_choice="required",
    )


def chosen_label(reply: ModelReply, labels: list[str]) -> str | None:
    """The label the model chose: its ``choose_condition`` call, or text naming one."""
    for call in reply.tool_calls:
        if call.name == CHOOSE_TOOL and isinstance(call.arguments.get("label"), str):
            return str(call.arguments["label"])
    text = reply.text.strip().strip(".\"'").casefold()
    return next((label for label in labels if label.casefold() == text), None)


def _answer(reply: ModelReply, labels: list[str]) -> CallResult:
    reason = next(
        (c.arguments.get("reason") for c in reply.tool_calls if c.name == CHOOSE_TOOL), None
    )
    body = {
        "label": chosen_label(reply, labels),
        "reason": reason if isinstance(reason, str) else None,
        "model": reply.model,
        "usage": {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
        },
    }
    if body["label"] is None:
        body["text"] = reply.text[:500]
    return CallResult(ok=True, status_code=200, body=body)


async def decide(
    resources: Resources, execution_id: uuid.UUID, request: dict[str, Any]
) -> CallResult:
    """Ask the node's model to choose a condition; the answer the engine routes on."""
    reply = await flow_models.ask(resources, execution_id, request, model_request(request))
    return _answer(reply, [c["label"] for c in _conditions(request)])
