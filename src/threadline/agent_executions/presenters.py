"""Agent execution rows → the API's shapes."""

from __future__ import annotations

from threadline.agent_executions.schemas import (
    AgentExecutionOut,
    AgentExecutionStatus,
    ConversationAgentExecutionOut,
)
from threadline.models import FlowExecution


def api_status(execution: FlowExecution) -> AgentExecutionStatus:
    """The reference's status of an execution the runtime keeps as status + wait."""
    if execution.status == "waiting":
        return "handoff" if execution.wait_reason == "handoff" else "paused"
    if execution.status == "running":
        return "started" if execution.step_seq == 0 else "running"
    if execution.status in ("ended", "failed", "stopped"):
        return execution.status  # type: ignore[return-value]
    return "failed"


def _duration(execution: FlowExecution) -> int | None:
    if execution.ended_at is None:
        return None
    return int((execution.ended_at - execution.started_at).total_seconds())


def execution_out(execution: FlowExecution) -> AgentExecutionOut:
    """One agent execution."""
    assert execution.agent_id is not None
    state = execution.agent_state or {}
    return AgentExecutionOut(
        id=execution.id,
        agent_id=execution.agent_id,
        thread_id=str(execution.tracking_id),
        status=api_status(execution),
        started_at=execution.started_at,
        ended_at=execution.ended_at,
        duration=_duration(execution),
        agent_snapshot_id=execution.agent_snapshot_id,
        phone_number=execution.phone_number,
        whatsapp_config_id=execution.whatsapp_config_id,
        whatsapp_conversation_id=execution.conversation_id,
        current_node=execution.current_node_id or None,
        last_event_at=execution.last_event_at,
        error=execution.error,
        conversation=list(state.get("conversation", [])),
    )


def in_conversation_out(execution: FlowExecution) -> ConversationAgentExecutionOut:
    """An agent execution as a conversation lists it."""
    state = execution.agent_state or {}
    return ConversationAgentExecutionOut(
        id=execution.id,
        active=execution.status in ("running", "waiting"),
        handoff_reason=state.get("handoff_reason"),
        created_at=execution.started_at,
        updated_at=execution.last_event_at or execution.started_at,
        agent_execution=execution_out(execution),
    )
