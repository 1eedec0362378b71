"""The Messages API wire format: request bodies in, messages and errors out."""

from __future__ import annotations

import json
import uuid
from typing import Any

from threadline.llm.types import (
    ChatMessage,
    ModelReply,
    ModelRequest,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from threadline.model_server.wire import WireError, require_list, require_str

_STOP = {
    "end": "end_turn",
    "tool_calls": "tool_use",
    "max_tokens": "max_tokens",
    "other": "end_turn",
}
#: Error ``type`` by status, as Anthropic answers them.
_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_CHOICES: dict[str, ToolChoice] = {
    "auto": "auto",
    "any": "required",
    "tool": "required",
    "none": "none",
}
TOOL_CALL_PREFIX = "toolu_"


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error JSON: ``{"type": "error", "error": {type, message}}``."""
    kind = _ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def parse(body: dict[str, Any]) -> ModelRequest:
    """The neutral request of a messages body; :class:`WireError` when invalid."""
    require_str(body, "model")
    if not isinstance(body.get("max_tokens"), int):
        raise WireError("max_tokens: Field required")
    if body.get("stream"):
        raise WireError("stream: the local model server does not stream; send stream=false")
    messages: list[ChatMessage] = []
    for index, message in enumerate(require_list(body, "messages")):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise WireError(f"messages.{index}.role: expected user or assistant")
        messages.extend(_turns(message, index))
    return ModelRequest(
        system=_text(body.get("system"), "system"),
        messages=tuple(messages),
        tools=tuple(_tool(tool, i) for i, tool in enumerate(body.get("tools") or [])),
        tool_choice=_tool_choice(body.get("tool_choice")),
    )


def _text(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    raise WireError(f"{where}: expected a string or a list of text blocks")


def _turns(message: dict[str, Any], index: int) -> list[ChatMessage]:
    """One wire message as neutral turns: its tool results each become a tool turn."""
    content = message.get("content")
    if isinstance(content, str):
        return [ChatMessage(role=message["role"], content=content)]
    if not isinstance(content, list):
        raise WireError(f"messages.{index}.content: expected a string or a list of blocks")
    texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    results = [
        _result(b) for b in content if isinstance(b, dict) and b.get("type") == "tool_result"
    ]
    uses = [_use(b) for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
    turns = list(results)
    if texts or uses or not results:
        turns.append(
            ChatMessage(role=message["role"], content="".join(texts), tool_calls=tuple(uses))
        )
    return turns


def _result(block: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role="tool",
        content=_text(block.get("content"), "tool_result.content"),
        tool_call_id=str(block.get("tool_use_id") or ""),
        is_error=bool(block.get("is_error")),
    )


def _use(block: dict[str, Any]) -> ToolCall:
    given = block.get("input")
    arguments = given if isinstance(given, dict) else {}
    return ToolCall(
        id=str(block.get("id") or ""),
        name=str(block.get("name") or ""),
        arguments=arguments,
        raw_arguments=json.dumps(given),
    )


def _tool(tool: Any, index: int) -> ToolSpec:
    if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
        raise WireError(f"tools.{index}.name: Field required")
    return ToolSpec(
        name=tool["name"],
        description=str(tool.get("description") or ""),
        parameters=tool.get("input_schema") or {},
    )


def _tool_choice(choice: Any) -> ToolChoice:
    if choice is None:
        return "auto"
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in _CHOICES:
        raise WireError(f"tool_choice: {choice!r} is not auto, any, tool or none")
    return _CHOICES[kind]


def _block(call: ToolCall) -> dict[str, Any]:
    # A malformed call (the fault) keeps its raw text as the input: not an object.
    try:
        given: Any = json.loads(call.raw_arguments) if call.raw_arguments else call.arguments
    except json.JSONDecodeError:
        given = call.raw_arguments
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": given}


def render(reply: ModelReply) -> dict[str, Any]:
    """A ``message`` object of text and tool_use blocks."""
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [_block(call) for call in reply.tool_calls]
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": _STOP[reply.stop_reason],
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
