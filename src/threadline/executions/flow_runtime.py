"""A flow's execution on the runtime: the flow engine, and the agents of its agent nodes.

A flow's ``agent`` node parks on a call of kind ``agent`` (``engine/nodes/agent.py``).
No job makes that call: here the agent interpreter takes over the same execution, its
state in ``agent_state``, its model and tool calls the jobs every agent's are, its
pauses the execution's waits (the contact's reply resumes it as any flow's). While it
runs the execution stays at the agent node. When the agent ends (it moved to the end or
stopped) or fails, the flow engine gets the call's result in the same step and the flow
carries on from the node: one transaction, whichever way the step goes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.engine.advance import advance
from threadline.engine.agent.advance import advance_agent
from threadline.engine.agent.codec import dump_state
from threadline.engine.agent.graph import END, START
from threadline.engine.agent.state import AgentInput, AgentOutcome, AgentStart, AgentState
from threadline.engine.nodes.agent import AGENT_CALL
from threadline.engine.state import CallResult, EngineInput, LogEvent, Outcome, RunState
from threadline.executions import agent_runtime
from threadline.flows.definition import FlowDefinition
from threadline.flows.service import load_definition
from threadline.models import FlowExecution

#: Agent nodes one step may pass through (each ending at once) before it is a loop.
MAX_AGENT_NODES = 20
#: How much of the agent's conversation ``system.last_agent`` keeps.
CONVERSATION_KEPT = 20

AgentStateJson = dict[str, Any] | None
#: The agent's events that would read as the execution's, renamed in a flow's log.
_AGENT_EVENT_KINDS = {"execution_ended": "agent_ended", "error": "agent_failed"}


async def advance_flow(
    session: AsyncSession, execution: FlowExecution, event: EngineInput | AgentInput, now: datetime
) -> tuple[Outcome, AgentStateJson]:
    """Advance a flow's execution; its outcome and its agent node's ``agent_state``."""
    definition = await load_definition(session, execution.flow_refs()[1])
    state = agent_runtime.run_state(execution, execution.current_node_id)
    done: list[Outcome] = []
    if execution.agent_state is not None:
        agent = await _agent_step(session, execution, state, event, now)
        if agent.status not in ("ended", "failed"):
            return _agent_outcome(execution, agent, state), dump_state(agent.state)
        done.append(_agent_outcome(execution, agent, state))
        event = _exit_result(agent)
    assert not isinstance(event, AgentInput)  # only an agent node's jobs make these
    outcome = advance(definition, state, event, now)
    return await _through_agent_nodes(session, execution, definition, [*done, outcome], now)


async def _through_agent_nodes(
    session: AsyncSession,
    execution: FlowExecution,
    definition: FlowDefinition,
    steps: list[Outcome],
    now: datetime,
) -> tuple[Outcome, AgentStateJson]:
    """Start the agent of each agent node the flow reaches, until one keeps going (or the
    flow waits elsewhere, ends or fails); the effects of every step, in order."""
    for _ in range(MAX_AGENT_NODES):
        flow = steps[-1]
        if flow.call is None or flow.call.kind != AGENT_CALL:
            return _joined(steps), None
        agent = await _start_agent(session, execution, flow, now)
        steps.append(_agent_outcome(execution, agent, flow.state))
        if agent.status not in ("ended", "failed"):
            return _joined(steps), dump_state(agent.state)
        steps.append(advance(definition, flow.state, _exit_result(agent), now))
    failure = f"more than {MAX_AGENT_NODES} agent nodes in one step: a loop?"
    return _joined(
        [*steps, agent_runtime.failed_outcome(execution, failure, steps[-1].state)]
    ), None


async def _start_agent(
    session: AsyncSession, execution: FlowExecution, flow: Outcome, now: datetime
) -> AgentOutcome:
    assert flow.call is not None
    version = await agent_runtime.flow_node_version(
        session, execution.flow_refs()[1], flow.call.node_id
    )
    state = AgentState(node=START, metadata=_metadata(execution, flow.state))
    text = flow.state.system.get("last_user_input")
    return advance_agent(agent_runtime.view_of(version), state, AgentStart(text=text), now)


async def _agent_step(
    session: AsyncSession,
    execution: FlowExecution,
    state: RunState,
    event: EngineInput | AgentInput,
    now: datetime,
) -> AgentOutcome:
    """The agent node's agent, advanced by ``event`` (the contact wrote, a call answered)."""
    try:
        return await agent_runtime.advance_interpreter(session, execution, event, now)
    except agent_runtime.VersionMissing as missing:
        return AgentOutcome(
            status="failed", state=AgentState(node=state.node_id), error={"message": str(missing)}
        )


def _agent_outcome(execution: FlowExecution, agent: AgentOutcome, state: RunState) -> Outcome:
    """The agent's effects as the flow's step: the flow stays at the agent node; an
    agent that ended or failed hands over (its result is the flow's next input), and
    its log says the agent ended, not the execution."""
    outcome = agent_runtime.to_outcome(execution, agent, state=state)
    if agent.status in ("ended", "failed"):
        outcome.status, outcome.error = "running", None
        outcome.events = [_as_agent_event(event) for event in outcome.events]
    return outcome


def _as_agent_event(event: LogEvent) -> LogEvent:
    kind = _AGENT_EVENT_KINDS.get(event.kind)
    return replace(event, kind=kind) if kind else event


def _exit_result(agent: AgentOutcome) -> CallResult:
    """How the agent ended, as the agent node's call result."""
    if agent.status == "failed":
        message = (agent.error or {}).get("message") or "the agent failed"
        return CallResult(ok=False, error=f"the agent failed: {message}")
    body = {
        "status": "ended",
        "reason": _end_reason(agent),
        "conversation": agent.state.conversation[-CONVERSATION_KEPT:],
    }
    return CallResult(ok=True, body=body)


def _end_reason(agent: AgentOutcome) -> str | None:
    """Why the agent ended: the model's reason for moving to the end, else for stopping."""
    moved = [e for e in agent.events if e.kind == "step_entered" and e.node_id == END]
    ended = [e for e in agent.events if e.kind == "execution_ended"]
    for event in (*moved, *ended):
        if reason := (event.data or {}).get("reason"):
            return str(reason)
    return None


def _joined(steps: list[Outcome]) -> Outcome:
    """One outcome of consecutive steps: the last one's status and state, every step's
    messages and events in order."""
    last = steps[-1]
    last.sends = [send for step in steps for send in step.sends]
    last.events = [event for step in steps for event in step.events]
    return last


def _metadata(execution: FlowExecution, state: RunState) -> dict[str, Any]:
    contact = {"phone_number": execution.phone_number}
    ids = ("execution_id", "flow_id", "conversation_id", "contact_id")
    return {
        "contact_information": contact,
        **{k: state.system[k] for k in ids if k in state.system},
    }
