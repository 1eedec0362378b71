"""A send node's AI fields, written from the call job: the node's model fills them all at once.

The model is offered one tool, ``write_fields``, whose parameters are the fields (strings,
each with its prompt as description and WhatsApp's length limit as ``maxLength``), all
required, and must call it (``tool_choice="required"``). The answer carries what it
wrote, by field path; the engine checks that every field was written before it sends
(``engine/nodes/ai_fields.py``). The call is :func:`~threadline.executions.flow_models.ask`'s.
"""

from __future__ import annotations

import re
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


# The property names every provider accepts (Anthropic's rule); a field path outside it
# (a template parameter named "due date") is offered as field_<n>.
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _fields(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in request.get("fields", []) if isinstance(f.get("path"), str)]


def _names(fields: list[dict[str, Any]]) -> dict[str, str]:
    """Each field's property name in the tool → its path."""
    return {
        f["path"] if _PROPERTY_NAME.fullmatch(f["path"]) else f"field_{n}": f["path"]
        for n, f in enumerate(fields, start=1)
    }


def _write_tool(fields: list[dict[str, Any]]) -> ToolSpec:
    properties = {
        name: {
            "type": "string",
            "minLength": 1,
            "maxLength": f["max_length"],
            "description": f["prompt"],
        }
        for name, f in zip(_names(fields), fields, strict=True)
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
        f"- {name} (at most {f['max_length']} characters): {f['prompt']}"
        for name, f in zip(_names(fields), fields, strict=True)
    )
    return ModelRequest(
        system=_SYSTEM + listed,
        messages=(flow_models.facts(request),),
        tools=(_write_tool(fields),),
        tool_choice="required",
    )


def answer(reply: ModelReply, request: dict[str, Any]) -> CallResult:
    """What the model wrote, by field path (and its text, when it called no tool)."""
    names = _names(_fields(request))
    call = next((c for c in reply.tool_calls if c.name == WRITE_TOOL), None)
    arguments = call.arguments if call is not None else {}
    body: dict[str, Any] = {
        "values": {path: arguments[name] for name, path in names.items() if name in arguments},
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
    return answer(reply, request)
