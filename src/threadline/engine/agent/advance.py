"""The agent interpreter: from a graph, a state and an input, decide what happens next.

``advance_agent`` is pure, like the flow engine's ``advance``. It applies one input (the
user wrote, the model answered, a tool finished, a timer fired) and goes as far as it
can without I/O: it answers the built-in tools itself, queues the messages they send,
moves between nodes, and stops when the model must be called, an external tool must
run, the user must answer, people take over, or the execution ends or fails.
"""

from __future__ import annotations

from datetime import datetime

from threadline.engine.agent import builtins
from threadline.engine.agent.graph import END, AgentGraph, AgentNode
from threadline.engine.agent.state import (
    AgentInput,
    AgentOutcome,
    AgentStart,
    AgentState,
    HandoffReleased,
    ModelAnswered,
    ModelFailed,
    TimerFired,
    ToolFinished,
    ToolRequest,
    UserMessage,
)
from threadline.engine.agent.tools import offered
from threadline.engine.state import LogEvent, SendMessage
from threadline.llm.types import ChatMessage, ToolCall

#: How long a warm end waits for the user when its node does not say (Kapso's default).
WARM_END_DEFAULT_MINUTES = 5


def advance_agent(
    graph: AgentGraph, state: AgentState, event: AgentInput, now: datetime
) -> AgentOutcome:
    """Apply ``event`` to the execution at ``state`` and carry on as far as it goes."""
    run = _Run(graph, state)
    if isinstance(event, AgentStart):
        run.start(event.text)
    elif isinstance(event, UserMessage):
        run.user_wrote(event.text)
    elif isinstance(event, ModelAnswered):
        run.model_answered(event)
    elif isinstance(event, ModelFailed):
        run.fail(f"the model call failed: {event.error}")
    elif isinstance(event, ToolFinished):
        run.tool_finished(event)
    elif isinstance(event, TimerFired):
        run.timer_fired()
    else:
        assert isinstance(event, HandoffReleased)
        run.end("the conversation was handed back after the handoff")
    return run.outcome


class _Run:
    """One advance: collects effects while answering tool calls and moving nodes."""

    def __init__(self, graph: AgentGraph, state: AgentState) -> None:
        self.graph = graph
        self.state = state
        self.outcome = AgentOutcome(status="running", state=state)

    # -- inputs -----------------------------------------------------------------------------

    def start(self, text: str | None) -> None:
        if text:
            self._user_message(text)
        self.enter(self.graph.start_node(), reason=None)
        self.carry_on()

    def user_wrote(self, text: str) -> None:
        self.state.model_calls_in_turn = 0
        waiting_on, self.state.waiting_on = self.state.waiting_on, None
        if waiting_on is not None:
            self.tool_result(waiting_on, text)
            self.state.conversation.append({"role": "user", "content": text})
        else:
            self._user_message(text)
        self.log("user_message", {"text": text})
        self.carry_on()

    def model_answered(self, event: ModelAnswered) -> None:
        reply = event.reply
        self.state.model_calls_in_turn += 1
        if not reply.text.strip() and not reply.tool_calls:
            # Nothing to say and nothing to do: ask again (the turn's limit bounds it). The
            # empty turn is not kept: providers refuse an empty assistant message.
            self.log_model_call(event)
            self.log("model_answered_empty")
            self.carry_on()
            return
        self.state.history.append(
            ChatMessage(role="assistant", content=reply.text, tool_calls=reply.tool_calls)
        )
        self.log_model_call(event)
        if reply.text and (self.graph.version == 2 or not reply.tool_calls):
            # Version 2 sends its text; version 1 text is reasoning, unless it is all the
            # model said: then it was meant for the person (small models do this).
            self.send_text(reply.text)
        if not reply.tool_calls:
            self.park_for_user()
            return
        self.state.pending = list(reply.tool_calls)
        self.carry_on()

    def tool_finished(self, event: ToolFinished) -> None:
        current = self.state.pending[0] if self.state.pending else None
        if current is None or current.id != event.call_id:
            self.outcome.status = "running"
            self.log("stale_tool_result", {"call_id": event.call_id})
            return
        self.state.pending.pop(0)
        data = {"tool": current.name, "call_id": current.id, "ok": event.error is None}
        data |= {"error": event.error} if event.error else {}
        self.log("tool_finished", data, duration_ms=event.duration_ms)
        content = event.content if event.error is None else f"Error: {event.error}"
        self.tool_result(current.id, content, is_error=event.error is not None)
        self.carry_on()

    def timer_fired(self) -> None:
        node = self.graph.node(self.state.node)
        if node.type == "WarmEndNode" and self.state.waiting_on is None:
            self.end("the warm end's time ran out")
        else:
            self.outcome.status = "paused"

    # -- the loop -------------------------------------------------------------------------

    def carry_on(self) -> None:
        """Answer pending tool calls in order until one must wait, then call the model."""
        while self.outcome.status == "running" and self.state.pending:
            call = self.state.pending[0]
            if not self.answer(call):
                return
        if self.outcome.status != "running":
            return
        if self.state.model_calls_in_turn >= self.graph.max_model_calls_per_turn:
            limit = self.graph.max_model_calls_per_turn
            self.fail(f"the model was called {limit} times without waiting for the user")
            return
        self.outcome.call_model = True

    def answer(self, call: ToolCall) -> bool:
        """Handle ``call``; False when the loop must stop for a job (it stays pending)."""
        node = self.graph.node(self.state.node)
        if call.arguments_error is not None:
            self.refuse(call, f"invalid arguments: {call.arguments_error}")
            return True
        external = node.tool(call.name)
        if external is not None:
            self.request_tool(call, external.kind, external.config)
            return False
        if call.name not in {spec.name for spec in offered(node, version=self.graph.version)}:
            self.refuse(call, f"unknown tool {call.name!r}; {self.tool_names(node)}")
            return True
        self.state.pending.pop(0)
        here = self.state.node
        builtins.run(self, call)
        if self.outcome.status != "running" or self.state.node != here:
            self.skip_rest(call)  # it waits, ends, or moved on: the rest was for this turn
        return True

    def request_tool(self, call: ToolCall, kind: str, config: dict[str, object]) -> None:
        self.outcome.tool = ToolRequest(
            call_id=call.id,
            name=call.name,
            kind=kind,
            node=self.state.node,
            arguments=call.arguments,
            config=dict(config),
        )
        self.log("tool_requested", {"tool": call.name, "call_id": call.id, "kind": kind})

    def skip_rest(self, cause: ToolCall) -> None:
        """Calls after one that stopped the turn are answered, not run: every provider
        wants a result for every call before the next model call."""
        for call in self.state.pending:
            self.tool_result(call.id, f"not run: {cause.name} came first", is_error=True)
        self.state.pending = []

    # -- effects ----------------------------------------------------------------------------

    def enter(self, name: str, *, reason: str | None) -> None:
        self.state.node = name
        node = self.graph.node(name)
        self.log("step_entered", {"step_type": node.type} | ({"reason": reason} if reason else {}))
        if name == END:
            self.end("the agent reached the end")
        elif node.type == "HandoffNode":
            self.hand_off(reason)

    def hand_off(self, reason: str | None) -> None:
        self.state.handoff_reason = reason
        self.outcome.status = "handoff"
        self.log("handoff", {"reason": reason} if reason else {})

    def park_for_user(self) -> None:
        self.outcome.status = "paused"
        node = self.graph.node(self.state.node)
        if node.type == "WarmEndNode":
            self.outcome.wait_minutes = node.warm_end_minutes or WARM_END_DEFAULT_MINUTES
        self.log("waiting_for_user", {"call_id": self.state.waiting_on})

    def send(self, payload: dict[str, object], *, shown: str) -> None:
        self.outcome.sends.append(SendMessage(node_id=self.state.node, payload=dict(payload)))
        self.state.conversation.append({"role": "assistant", "content": shown})

    def send_text(self, text: str) -> None:
        try:
            payload = builtins.text_payload(self, text)
        except ValueError as error:  # e.g. longer than WhatsApp takes: kept out of the chat
            self.log("message_refused", {"error": str(error)})
            return
        self.send(payload, shown=text)

    def tool_result(self, call_id: str, content: object, *, is_error: bool = False) -> None:
        text = content if isinstance(content, str) else builtins.as_json(content)
        self.state.history.append(
            ChatMessage(role="tool", content=text, tool_call_id=call_id, is_error=is_error)
        )

    def refuse(self, call: ToolCall, message: str) -> None:
        self.state.pending.pop(0)
        self.log("tool_refused", {"tool": call.name, "call_id": call.id, "error": message})
        self.tool_result(call.id, f"Error: {message}", is_error=True)

    def end(self, why: str) -> None:
        self.outcome.status = "ended"
        self.outcome.call_model = False
        self.log("execution_ended", {"reason": why})

    def fail(self, message: str) -> None:
        self.outcome.status = "failed"
        self.outcome.call_model = False
        self.outcome.error = {"message": message, "node_id": self.state.node}
        self.log("error", self.outcome.error)

    def log(
        self, kind: str, data: dict[str, object] | None = None, *, duration_ms: int | None = None
    ) -> None:
        event = LogEvent(kind, self.state.node, dict(data or {}) or None, duration_ms)
        self.outcome.events.append(event)

    def log_model_call(self, event: ModelAnswered) -> None:
        reply = event.reply
        data = {
            "model": reply.model,
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
            "tool_calls": [call.name for call in reply.tool_calls],
            "stop_reason": reply.stop_reason,
        }
        self.log("model_called", data, duration_ms=event.duration_ms)

    def tool_names(self, node: AgentNode) -> str:
        names = [spec.name for spec in offered(node, version=self.graph.version)]
        return "the tools here are: " + ", ".join(names)

    def _user_message(self, text: str) -> None:
        self.state.history.append(ChatMessage(role="user", content=text))
        self.state.conversation.append({"role": "user", "content": text})
