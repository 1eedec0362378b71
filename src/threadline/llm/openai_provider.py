"""OpenAI-compatible chat completions through the official ``openai`` SDK.

Any server speaking ``POST {base_url}/chat/completions`` works (OpenAI, the local model
server, vLLM, Ollama...). Tools are function tools; a tool call whose arguments are not
a JSON object comes back with ``arguments_error`` instead of failing the call.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion

from threadline.kit.httpx2_bridge import sdk_client
from threadline.llm import failures
from threadline.llm.errors import ModelAnswerMalformed
from threadline.llm.types import (
    KEYLESS,
    ChatMessage,
    ModelReply,
    ModelRequest,
    ModelSpec,
    StopReason,
    ToolCall,
    ToolSpec,
    Usage,
)

#: Where a spec without ``base_url`` goes (given, so the SDK never reads OPENAI_BASE_URL).
DEFAULT_BASE_URL = "https://api.openai.com/v1"

_STOP_REASONS: dict[str, StopReason] = {
    "stop": "end",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "max_tokens",
}


async def complete(
    spec: ModelSpec, request: ModelRequest, *, http: httpx.AsyncClient
) -> ModelReply:
    """Ask an OpenAI-compatible model; SDK failures become :mod:`threadline.llm.errors`."""
    async with sdk_client(http, timeout=spec.timeout_seconds) as bridge:
        client = openai.AsyncOpenAI(
            api_key=spec.api_key or KEYLESS,
            base_url=spec.base_url or DEFAULT_BASE_URL,
            max_retries=spec.max_retries,
            timeout=spec.timeout_seconds,
            http_client=bridge,
        )
        with failures.sdk_errors(openai):
            answer = await client.chat.completions.create(
                **_untransformed(request_body(spec, request))
            )
    return reply_of(answer)


def _untransformed(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its transcript and tools as ``extra_body``, sent as they are.

    They are plain JSON in the wire shape already; the SDK's walk of them against its
    TypedDicts (for aliases and formats these params do not have) was a tenth of an
    agent turn's CPU, growing with the transcript (docs/benchmarks.md).
    """
    extra = {key: body.pop(key) for key in ("messages", "tools") if key in body}
    return {**body, "messages": [], "extra_body": extra}


def request_body(spec: ModelSpec, request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for ``request``."""
    body: dict[str, Any] = {"model": spec.model, "messages": wire_messages(request)}
    if request.tools:
        body["tools"] = [wire_tool(tool) for tool in request.tools]
        body["tool_choice"] = request.tool_choice
    settings = spec.settings
    if settings.temperature is not None:
        body["temperature"] = settings.temperature
    if settings.max_tokens is not None:
        body["max_completion_tokens"] = settings.max_tokens
    if settings.reasoning_effort is not None:
        body["reasoning_effort"] = settings.reasoning_effort
    return body


def wire_tool(tool: ToolSpec) -> dict[str, Any]:
    """A function tool."""
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


def wire_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """The system prompt first, then each turn in the chat completions shape."""
    system = [{"role": "system", "content": request.system}] if request.system else []
    return system + [wire_message(message) for message in request.messages]


def wire_message(message: ChatMessage) -> dict[str, Any]:
    """One turn: a tool's answer names its call; an assistant turn carries its calls."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["content"] = message.content or None
        wire["tool_calls"] = [_wire_call(call) for call in message.tool_calls]
    return wire


def _wire_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.raw_arguments or json.dumps(call.arguments)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def reply_of(answer: ChatCompletion) -> ModelReply:
    """The provider-neutral reply of a chat completion (its first choice)."""
    if not answer.choices:
        raise ModelAnswerMalformed("the answer has no choices")
    choice = answer.choices[0]
    calls = tuple(_tool_call(call) for call in choice.message.tool_calls or ())
    usage = answer.usage
    return ModelReply(
        text=choice.message.content or "",
        tool_calls=calls,
        usage=Usage(
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        ),
        model=answer.model,
        stop_reason=_STOP_REASONS.get(choice.finish_reason, "other"),
        request_id=getattr(answer, "_request_id", None) or answer.id,
    )


def _tool_call(call: Any) -> ToolCall:
    function = getattr(call, "function", None)
    if function is None:
        raise ModelAnswerMalformed(f"unsupported tool call type {getattr(call, 'type', '?')!r}")
    raw = function.arguments or ""
    arguments, error = parse_arguments(raw)
    return ToolCall(
        id=call.id,
        name=function.name,
        arguments=arguments,
        raw_arguments=raw,
        arguments_error=error,
    )


def parse_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Arguments text as a JSON object, or ``({}, why not)``; empty text is ``{}``."""
    if not raw.strip():
        return {}, None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        return {}, f"the arguments are not valid JSON: {error}"
    if not isinstance(parsed, dict):
        return {}, f"the arguments are JSON but not an object ({type(parsed).__name__})"
    return parsed, None
