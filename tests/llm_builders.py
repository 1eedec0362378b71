"""Typed builders for model calls against the local model server (a real HTTP server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from threadline.llm.types import (
    ChatMessage,
    ModelRequest,
    ModelSettings,
    ModelSpec,
    ProviderKind,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from threadline.model_server.faults import FaultKind, Protocol
from threadline.model_server.scripts import Rule, Script, ScriptedReply, ScriptedToolCall
from threadline.model_server.state import ModelServerState

PROVIDERS: tuple[ProviderKind, ...] = ("openai", "anthropic")


@dataclass
class LiveModelServer:
    """The session's model server: its URL, its state, and its control plane over HTTP."""

    url: str
    state: ModelServerState
    http: httpx.AsyncClient

    def base_url(self, provider: ProviderKind) -> str:
        """The SDK's ``base_url`` for ``provider``'s protocol."""
        return self.url + ("/openai/v1" if provider == "openai" else "/anthropic")

    async def load_script(self, model: str, script: Script) -> None:
        """``POST /_control/scripts/{model}``."""
        answer = await self.http.post(
            f"{self.url}/_control/scripts/{model}", json=script.model_dump(exclude_none=True)
        )
        answer.raise_for_status()

    async def inject(self, kind: FaultKind, **fields: Any) -> None:
        """``POST /_control/faults``: ``kind`` for the next calls (``times``, ``model``...)."""
        answer = await self.http.post(f"{self.url}/_control/faults", json={"kind": kind, **fields})
        answer.raise_for_status()

    async def received(self, protocol: Protocol | None = None) -> list[dict[str, Any]]:
        """``GET /_control/requests``."""
        params = {"protocol": protocol} if protocol else {}
        answer = await self.http.get(f"{self.url}/_control/requests", params=params)
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()["data"]
        return data


def model_spec(
    server: LiveModelServer,
    provider: ProviderKind = "openai",
    *,
    model: str = "test-model",
    max_retries: int = 0,
    timeout_seconds: float = 5.0,
    settings: ModelSettings | None = None,
) -> ModelSpec:
    """A spec pointing at the live model server (any key is accepted there)."""
    return ModelSpec(
        name=f"local-{provider}",
        provider=provider,
        model=model,
        api_key="sk-local-test",
        base_url=server.base_url(provider),
        settings=settings or ModelSettings(),
        timeout_seconds=timeout_seconds,
        max_retries=max_retries,
    )


def weather_tool() -> ToolSpec:
    """A tool with one required string argument."""
    return ToolSpec(
        name="get_weather",
        description="The weather in a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )


def user_request(
    text: str,
    *,
    tools: tuple[ToolSpec, ...] = (),
    tool_choice: ToolChoice = "auto",
    system: str = "You are a helpful test assistant.",
) -> ModelRequest:
    """One user turn."""
    return ModelRequest(
        system=system,
        messages=(ChatMessage(role="user", content=text),),
        tools=tools,
        tool_choice=tool_choice,
    )


def after_tool(request: ModelRequest, call: ToolCall, result: str) -> ModelRequest:
    """``request`` continued by the model's ``call`` and the tool's ``result``."""
    turns = (
        ChatMessage(role="assistant", tool_calls=(call,)),
        ChatMessage(role="tool", content=result, tool_call_id=call.id),
    )
    return ModelRequest(
        system=request.system,
        messages=request.messages + turns,
        tools=request.tools,
        tool_choice=request.tool_choice,
    )


def text_reply(text: str, **fields: Any) -> ScriptedReply:
    """A scripted text answer."""
    return ScriptedReply(text=text, **fields)


def tool_reply(name: str, arguments: dict[str, Any], *, text: str = "") -> ScriptedReply:
    """A scripted answer calling one tool."""
    return ScriptedReply(text=text, tool_calls=[ScriptedToolCall(name=name, arguments=arguments)])


def rule_script(
    *rules: tuple[str, ScriptedReply],
    default: ScriptedReply | None = None,
    after_tool: ScriptedReply | None = None,
) -> Script:
    """A script of ``contains`` rules (``("weather", tool_reply(...))``), a default and
    the answer after a tool's result."""
    return Script(
        rules=[Rule(contains=c, reply=r) for c, r in rules], default=default, after_tool=after_tool
    )
