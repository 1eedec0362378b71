"""Test chat executions → the API's shape."""

from __future__ import annotations

from threadline.models import FlowExecution
from threadline.test_chats.schemas import TestChatMessage, TestChatOut, TestChatStatus


def chat_status(execution: FlowExecution) -> TestChatStatus:
    """``processing`` while the agent works, ``completed`` once it waits or ended,
    ``error`` when it failed."""
    if execution.status == "running":
        return "processing"
    return "error" if execution.status in ("failed", "stopped") else "completed"


def chat_out(execution: FlowExecution) -> TestChatOut:
    """One test chat."""
    assert execution.agent_id is not None
    state = execution.agent_state or {}
    conversation = [
        TestChatMessage(role=m["role"], content=m["content"])
        for m in state.get("conversation", [])
        if m.get("role") in ("user", "assistant")
    ]
    waiting = None
    if execution.status == "waiting":
        waiting = "people" if execution.wait_reason == "handoff" else "user"
    error = (execution.error or {}).get("message") if execution.error else None
    return TestChatOut(
        id=execution.id,
        agent_id=execution.agent_id,
        agent_snapshot_id=execution.agent_snapshot_id,
        status=chat_status(execution),
        conversation=conversation,
        error=error,
        created_at=execution.started_at,
        updated_at=execution.last_event_at or execution.started_at,
        current_node=execution.current_node_id or None,
        waiting_for=waiting,
    )
