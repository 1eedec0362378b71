"""Anthropic's Messages API through the official ``anthropic`` SDK.

The transcript becomes content blocks: an assistant turn's tool calls are ``tool_use``
blocks, tool answers are ``tool_result`` blocks of the next user turn (consecutive
turns of one role are merged, as the API wants them alternating).
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
from anthropic.types import Message

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
    ToolChoice,
    ToolSpec,
    Usage,
)

#: Where a spec without ``base_url`` goes (given, so the SDK never reads the environment).
DEFAULT_BASE_URL = "https://api.anthropic.com"
#: ``max_tokens`` is required by the Messages API; this is used when a model sets none.
DEFAULT_MAX_TOKENS = 4096

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end",
    "stop_sequence": "end",
    "tool_use": "tool_calls",
    "max_tokens": "max_tokens",
}
_TOOL_CHOICES: dict[ToolChoice, dict[str, str]] = {
    "auto": {"type": "auto"},
    "required": {"type": "any"},
    "none": {"type": "none"},
}
#: Blocks that carry no answer of ours (the model's reasoning): skipped.
_SKIPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})


async def complete(
    spec: ModelSpec, request: ModelRequest, *, http: httpx.AsyncClient
) -> ModelReply:
    """Ask an Anthropic model; SDK failures become :mod:`threadline.llm.errors`."""
    async with sdk_client(http, timeout=spec.timeout_seconds) as bridge:
        client = anthropic.AsyncAnthropic(
            api_key=spec.api_key or KEYLESS,
            base_url=spec.base_url or DEFAULT_BASE_URL,
            max_retries=spec.max_retries,
            timeout=spec.timeout_seconds,
            http_client=bridge,
        )
        with failures.sdk_errors(anthropic):
            answer = await client.messages.create(**request_body(spec, request))
    return reply_of(answer)


def request_body(spec: ModelSpec, request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of ``messages.create`` for ``request``."""
    settings = spec.settings
    body: dict[str, Any] = {
        "model": spec.model,
        "max_tokens": settings.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": wire_messages(request.messages),
    }
    if request.system:
        body["system"] = request.system
    if request.tools:
        body["tools"] = [wire_tool(tool) for tool in request.tools]
        body["tool_choice"] = _TOOL_CHOICES[request.tool_choice]
    if settings.temperature is not None:
        # The SDK no longer names it (recent models fix it); older models still take it.
        body["extra_body"] = {"temperature": settings.temperature}
    if settings.reasoning_effort is not None:
        body["output_config"] = {"effort": settings.reasoning_effort}
    return body


def wire_tool(tool: ToolSpec) -> dict[str, Any]:
    """A client tool."""
    return {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}


def wire_messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """Turns as alternating user/assistant messages of content blocks."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return wire


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id,
            "content": message.content,
        }
        if message.is_error:
            result["is_error"] = True
        return [result]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(_tool_use(call) for call in message.tool_calls)
    return blocks


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}


def reply_of(answer: Message) -> ModelReply:
    """The provider-neutral reply of a message: its text blocks joined, its tool uses."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in answer.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(_tool_call(block.id, block.name, block.input))
        elif block.type not in _SKIPPED_BLOCKS:
            raise ModelAnswerMalformed(f"unsupported content block {block.type!r}")
    usage = answer.usage
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return ModelReply(
        text="".join(texts),
        tool_calls=tuple(calls),
        usage=Usage(input_tokens=usage.input_tokens + cached, output_tokens=usage.output_tokens),
        model=answer.model,
        stop_reason=_STOP_REASONS.get(answer.stop_reason or "", "other"),
        request_id=getattr(answer, "_request_id", None) or answer.id,
    )


def _tool_call(call_id: str, name: str, given: object) -> ToolCall:
    if isinstance(given, dict):
        return ToolCall(id=call_id, name=name, arguments=given, raw_arguments=json.dumps(given))
    raw = given if isinstance(given, str) else json.dumps(given)
    return ToolCall(
        id=call_id,
        name=name,
        raw_arguments=raw,
        arguments_error=f"the tool input is not a JSON object ({type(given).__name__})",
    )
