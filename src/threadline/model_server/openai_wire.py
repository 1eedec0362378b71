"""The chat completions wire format: request bodies in, completions and errors out."""

from __future__ import annotations

import json
import time
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

_FINISH = {"end": "stop", "tool_calls": "tool_calls", "max_tokens": "length", "other": "stop"}
#: Error ``type`` and ``code`` by status, as OpenAI answers them.
_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}
TOOL_CALL_PREFIX = "call_"


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error JSON: ``{"error": {message, type, param, code}}``."""
    kind, code = _ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def parse(body: dict[str, Any]) -> ModelRequest:
    """The neutral request of a chat completions body; :class:`WireError` when invalid."""
    require_str(body, "model")
    if body.get("stream"):
        raise WireError("stream: the local model server does not stream; send stream=false")
    system: list[str] = []
    messages: list[ChatMessage] = []
    for index, message in enumerate(require_list(body, "messages")):
        if not isinstance(message, dict):
            raise WireError(f"messages[{index}]: expected an object")
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content"), f"messages[{index}].content"))
        else:
            messages.append(_message(message, index))
    return ModelRequest(
        system="\n\n".join(system),
        messages=tuple(messages),
        tools=tuple(_tool(tool, i) for i, tool in enumerate(body.get("tools") or [])),
        tool_choice=_tool_choice(body.get("tool_choice")),
    )


def _text(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    raise WireError(f"{where}: expected a string or a list of content parts")


def _message(message: dict[str, Any], index: int) -> ChatMessage:
    role = message.get("role")
    content = _text(message.get("content"), f"messages[{index}].content")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str):
            raise WireError(f"messages[{index}].tool_call_id: required for a tool message")
        return ChatMessage(role="tool", content=content, tool_call_id=call_id)
    if role == "user":
        return ChatMessage(role="user", content=content)
    if role == "assistant":
        calls = tuple(_call(call) for call in message.get("tool_calls") or [])
        return ChatMessage(role="assistant", content=content, tool_calls=calls)
    raise WireError(f"messages[{index}].role: {role!r} is not one of system, user, assistant, tool")


def _call(call: Any) -> ToolCall:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        raise WireError("tool_calls: each call needs a function")
    raw = str(function.get("arguments") or "")
    try:
        arguments = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        arguments = {}
    return ToolCall(
        id=str(call.get("id") or ""),
        name=str(function.get("name") or ""),
        arguments=arguments if isinstance(arguments, dict) else {},
        raw_arguments=raw,
    )


def _tool(tool: Any, index: int) -> ToolSpec:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise WireError(f"tools[{index}]: expected a function tool with a name")
    return ToolSpec(
        name=function["name"],
        description=str(function.get("description") or ""),
        parameters=function.get("parameters") or {},
    )


def _tool_choice(choice: Any) -> ToolChoice:
    if choice in (None, "auto"):
        return "auto"
    if choice == "none":
        return "none"
    if choice == "required" or isinstance(choice, dict):
        return "required"
    raise WireError(f"tool_choice: {choice!r} is not auto, none, required or a named tool")


def render(reply: ModelReply) -> dict[str, Any]:
    """A ``chat.completion`` object of one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.raw_arguments},
            }
            for call in reply.tool_calls
        ]
    elif not reply.text:
        message["content"] = ""
    usage = reply.usage
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _FINISH[reply.stop_reason],
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
        },
    }
