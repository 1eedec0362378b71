"""An agent execution's state as JSON (its row's column) and back."""

from __future__ import annotations

from typing import Any

from threadline.engine.agent.state import AgentState
from threadline.llm.types import ChatMessage, ToolCall


def dump_state(state: AgentState) -> dict[str, Any]:
    """``state`` as a JSON object."""
    return {
        "node": state.node,
        "history": [_dump_message(m) for m in state.history],
        "conversation": list(state.conversation),
        "pending": [_dump_call(c) for c in state.pending],
        "waiting_on": state.waiting_on,
        "returns_to": state.returns_to,
        "model_calls_in_turn": state.model_calls_in_turn,
        "handoff_reason": state.handoff_reason,
        "metadata": state.metadata,
    }


def load_state(data: dict[str, Any]) -> AgentState:
    """The state :func:`dump_state` wrote."""
    return AgentState(
        node=data["node"],
        history=[_load_message(m) for m in data.get("history", [])],
        conversation=list(data.get("conversation", [])),
        pending=[_load_call(c) for c in data.get("pending", [])],
        waiting_on=data.get("waiting_on"),
        returns_to=data.get("returns_to"),
        model_calls_in_turn=int(data.get("model_calls_in_turn", 0)),
        handoff_reason=data.get("handoff_reason"),
        metadata=dict(data.get("metadata", {})),
    )


def _dump_message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [_dump_call(c) for c in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.is_error:
        out["is_error"] = True
    return out


def _load_message(data: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role=data["role"],
        content=data.get("content", ""),
        tool_calls=tuple(_load_call(c) for c in data.get("tool_calls", [])),
        tool_call_id=data.get("tool_call_id"),
        is_error=bool(data.get("is_error", False)),
    )


def _dump_call(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
    if call.raw_arguments:
        out["raw_arguments"] = call.raw_arguments
    if call.arguments_error is not None:
        out["arguments_error"] = call.arguments_error
    return out


def _load_call(data: dict[str, Any]) -> ToolCall:
    return ToolCall(
        id=data["id"],
        name=data["name"],
        arguments=dict(data.get("arguments", {})),
        raw_arguments=data.get("raw_arguments", ""),
        arguments_error=data.get("arguments_error"),
    )
