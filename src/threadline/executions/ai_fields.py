"""A send node's AI fields, written from the call job: the node's model fills them all at once.

The model is offered one tool, ``write_fields``, whose parameters are the fields (strings,
each with its prompt as description and WhatsApp's length limit as ``maxLength``), all
required, and must call it (``tool_choice="required"``). The answer carries what it
wrote, by field path; the engine checks that every field was written before it sends
(``engine/nodes/ai_fields.py``). The call is :func:`~threadline.executions.flow_models.ask`'s.
"""

from __future__ import annotations

import uuid
from typing import Any

from threadline.engine.state import CallResult
from threadline.executions import flow_models
from threadline.kit.resources import Resources
from threadline.llm.types import ModelReply, ModelRequest, ToolSpec

WRITE_TOOL = "write_fields"

_SYSTEM = (
    "You write parts of a WhatsApp message that a business's automated flow sends to a "
    "customer. Read the customer's last message and the conversation's variables, then "
    f"call {WRITE_TOOL} once with every field written as its instruction asks: the text "
    "itself, ready to send, in the customer's language, with no placeholders. Fields:\n"
)


def _fields(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in request.get("fields", []) if isinstance(f.get("path"), str)]


def _write_tool(fields: list[dict[str, Any]]) -> ToolSpec:
    properties = {
        f["path"]: {
            "type": "string",
            "minLength": 1,
            "maxLength": f["max_length"],
            "description": f["prompt"],
        }
        for f in fields
    }
    parameters = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return ToolSpec(WRITE_TOOL, "Write every field of the message.", parameters)


def model_request(request: dict[str, Any]) -> ModelRequest:
    """The question put to the model for one send node's AI fields."""
    fields = _fields(request)
    listed = "\n".join(
        f"- {f['path']} (at most {f['max_length']} characters): {f['prompt']}" for f in fields
    )
    return ModelRequest(
        system=_SYSTEM + listed,
        messages=(flow_models.facts(request),),
        tools=(_write_tool(fields),),
        tool_choice="required",
    )


def _answer(reply: ModelReply) -> CallResult:
    call = next((c for c in reply.tool_calls if c.name == WRITE_TOOL), None)
    body: dict[str, Any] = {
        "values": dict(call.arguments) if call is not None else {},
        "model": reply.model,
        "usage": {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
        },
    }
    if call is None:
        body["text"] = reply.text[:500]
    return CallResult(ok=True, status_code=200, body=body)


async def write(
    resources: Resources, execution_id: uuid.UUID, request: dict[str, Any]
) -> CallResult:
    """Ask the node's model to write its AI fields; the values the engine sends."""
    reply = await flow_models.ask(resources, execution_id, request, model_request(request))
    return _answer(reply)
