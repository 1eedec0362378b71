"""Scripts: how the local model answers one model's requests, deterministically.

A script answers a :class:`ModelRequest` with a :class:`ModelReply`, in this order:
the next of its fixed ``replies`` (each used once); when the transcript ends with a
tool's answer, its ``after_tool`` reply (so a rule that called the tool does not call it
again); else the first ``rule`` whose pattern matches the last user message; else its
``default`` reply; else the built-in answers. Texts may name ``{last_user_message}``,
``{last_tool_result}`` and ``{model}``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from threadline.llm.types import ModelReply, ModelRequest, StopReason, ToolCall, ToolSpec, Usage

#: A tool call of the malformed-arguments fault: the text is not JSON.
MALFORMED_ARGUMENTS = '{"query": "unterminated'


class ScriptedToolCall(BaseModel):
    """A tool call to answer with; ``raw_arguments`` (sent verbatim, may be invalid
    JSON) wins over ``arguments``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    id: str | None = None


class ScriptedReply(BaseModel):
    """One answer: text, tool calls or both; usage is estimated unless given."""

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    stop_reason: StopReason | None = None
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)


class Rule(BaseModel):
    """Answer ``reply`` when the last user message contains ``contains`` (ignoring
    case) or matches ``regex`` (searched, ignoring case)."""

    model_config = ConfigDict(extra="forbid")

    contains: str | None = None
    regex: str | None = None
    reply: ScriptedReply

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as invalid:
                raise ValueError(f"not a regular expression: {invalid}") from None
        return value

    @model_validator(mode="after")
    def _one_pattern(self) -> Rule:
        if (self.contains is None) == (self.regex is None):
            raise ValueError("a rule has exactly one of contains or regex")
        return self

    def matches(self, text: str) -> bool:
        """Whether this rule answers a last user message of ``text``."""
        if self.contains is not None:
            return self.contains.lower() in text.lower()
        return re.search(self.regex or "", text, re.IGNORECASE) is not None


class Script(BaseModel):
    """How one model name answers (loaded with ``POST /_control/scripts/{model}``)."""

    model_config = ConfigDict(extra="forbid")

    replies: list[ScriptedReply] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    default: ScriptedReply | None = None
    #: The answer once a tool has answered (default: the built-in report of its result).
    after_tool: ScriptedReply | None = None
    #: Seconds each answer of this model waits (on top of the server's latency).
    latency_seconds: float = Field(default=0.0, ge=0, le=600)


def last_text(request: ModelRequest, role: Literal["user", "tool"]) -> str:
    """The content of the last turn of ``role`` ("" if none)."""
    for message in reversed(request.messages):
        if message.role == role:
            return message.content
    return ""


def ends_with_tool_result(request: ModelRequest) -> bool:
    """Whether the model is being told a tool's answer (the transcript ends with it)."""
    return bool(request.messages) and request.messages[-1].role == "tool"


#: Words of tool names too common to say the user asked for that tool.
_VAGUE_WORDS = frozenset({"get", "set", "list", "send", "find", "tool", "make", "data", "info"})


def _named_tool(request: ModelRequest) -> ToolSpec | None:
    """The first tool one of whose name's words (``get_weather``: weather) the last user
    message says."""
    said = set(re.findall(r"[a-z0-9]+", last_text(request, "user").lower()))
    for tool in request.tools:
        words = set(re.split(r"[^a-z0-9]+", tool.name.lower())) - _VAGUE_WORDS
        if any(len(word) > 3 and word in said for word in words):
            return tool
    return None


def _sample_arguments(tool: ToolSpec, text: str) -> dict[str, Any]:
    """The tool's required arguments, filled plausibly: strings get the user's words."""
    properties = tool.parameters.get("properties") or {}
    samples = {"string": text, "integer": 1, "number": 1, "boolean": True}
    arguments: dict[str, Any] = {}
    for name in tool.parameters.get("required") or []:
        kind = (properties.get(name) or {}).get("type", "string")
        if kind in samples:
            arguments[name] = samples[kind]
    return arguments


def _tool_reply(tool: ToolSpec, request: ModelRequest) -> ScriptedReply:
    arguments = _sample_arguments(tool, last_text(request, "user"))
    return ScriptedReply(tool_calls=[ScriptedToolCall(name=tool.name, arguments=arguments)])


def builtin_reply(request: ModelRequest) -> ScriptedReply:
    """The echo-ish answer of a model with no script: sensible for a sample agent.

    Reports a tool's answer; calls a tool the user names (a word of its name, such as
    "weather" for ``get_weather``) or, when a tool is required, that one or the first;
    greets back; otherwise repeats what the user said.
    """
    if ends_with_tool_result(request):
        return ScriptedReply(text="Done. The tool answered: {last_tool_result}")
    named = _named_tool(request) if request.tool_choice != "none" else None
    if named is None and request.tool_choice == "required" and request.tools:
        named = request.tools[0]
    if named is not None:
        return _tool_reply(named, request)
    if re.search(r"\b(hi|hello|hey|hola)\b", last_text(request, "user"), re.IGNORECASE):
        return ScriptedReply(text="Hello! I am the local test model. How can I help you today?")
    if not last_text(request, "user"):
        return ScriptedReply(text="Hello! I am the local test model.")
    return ScriptedReply(text="You said: {last_user_message}")


def choose(script: Script | None, request: ModelRequest) -> ScriptedReply:
    """The reply ``script`` gives ``request``; a fixed reply is consumed."""
    if script is None:
        return builtin_reply(request)
    if script.replies:
        return script.replies.pop(0)
    if ends_with_tool_result(request):
        return script.after_tool or builtin_reply(request)
    text = last_text(request, "user")
    for rule in script.rules:
        if rule.matches(text):
            return rule.reply
    return script.default or builtin_reply(request)


def estimate_tokens(text: str) -> int:
    """About four characters a token, at least one for any text."""
    return (len(text) + 3) // 4


def request_tokens(request: ModelRequest) -> int:
    """The input tokens of ``request`` as the local model counts them."""
    parts = [request.system, *(m.content for m in request.messages)]
    parts += [json.dumps(tool.parameters) + tool.name + tool.description for tool in request.tools]
    parts += [c.raw_arguments for m in request.messages for c in m.tool_calls]
    return sum(estimate_tokens(part) for part in parts)


def render(reply: ScriptedReply, request: ModelRequest, *, model: str, prefix: str) -> ModelReply:
    """The :class:`ModelReply` of ``reply`` for ``request`` (placeholders filled)."""
    text = _fill(reply.text, request, model)
    calls = tuple(_call(call, prefix) for call in reply.tool_calls)
    output = estimate_tokens(text) + sum(estimate_tokens(c.raw_arguments) for c in calls)
    stop: StopReason = reply.stop_reason or ("tool_calls" if calls else "end")
    return ModelReply(
        text=text,
        tool_calls=calls,
        usage=Usage(
            input_tokens=reply.input_tokens
            if reply.input_tokens is not None
            else request_tokens(request),
            output_tokens=reply.output_tokens if reply.output_tokens is not None else output,
        ),
        model=model,
        stop_reason=stop,
    )


def _fill(text: str, request: ModelRequest, model: str) -> str:
    values = {
        "{last_user_message}": last_text(request, "user"),
        "{last_tool_result}": last_text(request, "tool"),
        "{model}": model,
    }
    for name, value in values.items():
        text = text.replace(name, value)
    return text


def _call(call: ScriptedToolCall, prefix: str) -> ToolCall:
    raw = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
    return ToolCall(
        id=call.id or f"{prefix}{uuid.uuid4().hex[:24]}",
        name=call.name,
        arguments=call.arguments if call.raw_arguments is None else {},
        raw_arguments=raw,
    )


def malformed(reply: ModelReply, request: ModelRequest, *, prefix: str) -> ModelReply:
    """``reply`` turned into one tool call whose arguments are not JSON."""
    name = request.tools[0].name if request.tools else "lookup"
    call = ToolCall(
        id=f"{prefix}{uuid.uuid4().hex[:24]}", name=name, raw_arguments=MALFORMED_ARGUMENTS
    )
    return ModelReply(
        text="", tool_calls=(call,), usage=reply.usage, model=reply.model, stop_reason="tool_calls"
    )


def empty(reply: ModelReply) -> ModelReply:
    """``reply`` with nothing in it: no text, no tool call."""
    return ModelReply(text="", tool_calls=(), usage=reply.usage, model=reply.model)
