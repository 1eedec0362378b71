"""The interpreter: from a state and an input, decide what happens next.

``advance`` is a pure function. It walks the flow from the current node until the run
must wait (for the user, a human, a timer or an HTTP call), ends, or fails, and returns
that as an :class:`Outcome` with the messages to queue and the events to log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadline.engine.nodes import HANDLERS
from threadline.engine.state import (
    CallResult,
    EngineInput,
    LogEvent,
    Outcome,
    Resume,
    RunState,
    Start,
)
from threadline.engine.steps import Fail, Next, Park, Step, StepContext
from threadline.flows.definition import FlowDefinition, FlowNode

#: Structured replies whose id and title ``system.last_resume`` carries.
REPLY_TYPES = frozenset({"button_reply", "list_reply", "button"})

#: Steps one advance may take before the run is failed as a loop.
MAX_STEPS = 1000


def advance(
    definition: FlowDefinition, state: RunState, event: EngineInput, now: datetime
) -> Outcome:
    """Apply ``event`` to the run at ``state.node_id`` and follow the flow as far as it goes."""
    walk = _Walk(definition, state, now)
    if isinstance(event, Start):
        return walk.run_from(definition.start_node)
    node = definition.node(state.node_id)
    ctx = walk.context(node)
    handler = HANDLERS[node.node_type]
    if isinstance(event, Resume):
        walk.log(LogEvent("resumed", node.id, {"reason": event.reason}))
        state.system["last_resume"] = _last_resume(event)
        return walk.follow(node, handler.resume(ctx, event))
    assert isinstance(event, CallResult)
    finished = {"ok": event.ok, "status": event.status_code}
    walk.log(LogEvent("call_finished", node.id, finished | _error_of(event)))
    return walk.follow(node, handler.on_result(ctx, event))


def _last_resume(event: Resume) -> dict[str, Any]:
    """``{{system.last_resume.reason}}``, plus the id and title of a tapped button or row."""
    resumed: dict[str, Any] = {"reason": event.reason}
    reply = event.message or {}
    if reply.get("type") in REPLY_TYPES:
        resumed.update({key: reply.get(key) for key in ("type", "id", "title")})
    return resumed


def _error_of(result: CallResult) -> dict[str, str]:
    return {"error": result.error} if result.error else {}


class _Walk:
    """One advance: collects effects while stepping from node to node."""

    def __init__(self, definition: FlowDefinition, state: RunState, now: datetime) -> None:
        self.definition = definition
        self.state = state
        self.now = now
        self.outcome = Outcome(status="running", state=state)

    def context(self, node: FlowNode) -> StepContext:
        return StepContext(
            self.definition, node, self.state, self.now, self.outcome.sends, self.outcome.events
        )

    def log(self, event: LogEvent) -> None:
        self.outcome.events.append(event)

    def run_from(self, node: FlowNode) -> Outcome:
        return self.follow(node, self.enter(node))

    def enter(self, node: FlowNode) -> Step:
        self.state.node_id = node.id
        self.state.system["step_entered_at"] = self.now.isoformat()
        self.log(LogEvent("step_entered", node.id, {"step_type": node.node_type}))
        return HANDLERS[node.node_type].enter(self.context(node))

    def follow(self, node: FlowNode, step: Step) -> Outcome:
        for _ in range(MAX_STEPS):
            if not isinstance(step, Next):
                return self.stop(node, step)
            self.leave(node, step.label)
            target = self.definition.next_node_id(node.id, step.label)
            if target is None:
                return self.end(node)
            node = self.definition.node(target)
            step = self.enter(node)
        return self.stop(node, Fail(f"more than {MAX_STEPS} steps without waiting: a loop?"))

    def leave(self, node: FlowNode, label: str) -> None:
        entered = self.state.system.get("step_entered_at")
        duration = None
        if isinstance(entered, str):
            elapsed = self.now - datetime.fromisoformat(entered)
            duration = max(0, int(elapsed.total_seconds() * 1000))
        self.log(LogEvent("step_left", node.id, {"edge": label}, duration))

    def stop(self, node: FlowNode, step: Park | Fail) -> Outcome:
        if isinstance(step, Fail):
            return self.fail(node, step)
        outcome = self.outcome
        outcome.status = "running" if step.wait_reason == "call" else "waiting"
        outcome.wait_reason = step.wait_reason
        outcome.wait_seconds = step.wait_seconds
        outcome.call = step.call
        if step.call is not None:
            self.log(LogEvent("call_requested", node.id, {"kind": step.call.kind}))
        return outcome

    def end(self, node: FlowNode) -> Outcome:
        self.outcome.status = "ended"
        self.log(LogEvent("execution_ended", node.id))
        return self.outcome

    def fail(self, node: FlowNode, step: Fail) -> Outcome:
        self.outcome.status = "failed"
        self.outcome.error = {"message": step.message, "node_id": node.id, **(step.data or {})}
        self.log(LogEvent("error", node.id, self.outcome.error))
        return self.outcome
