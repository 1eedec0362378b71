"""Running the engine against a stored execution and writing down what it decided.

One runtime, two interpreters: a flow's execution is advanced by the flow engine
(through :mod:`.flow_runtime`, which hands a flow's agent nodes to the agent
interpreter), an agent's by the agent interpreter (``engine.agent``, through
:mod:`.agent_runtime`, which turns its outcome into the same :class:`Outcome`). Either
way the row, the event log, the outbox, the timers and the call jobs are written here.

The caller holds the transaction (and, on PostgreSQL, the execution's row lock). The
new state, the events, the outbox rows and the follow-up jobs are all written in it,
so a crash leaves either all of them or none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversations import service as conversations
from threadline.engine.agent.state import AgentInput
from threadline.engine.state import EngineInput, HttpCall, Outcome, Resume
from threadline.executions import agent_runtime, flow_runtime, repository
from threadline.executions.keys import CALL_TASK, MODEL_CALL_TASK, TIMEOUT_TASK, timer_key
from threadline.jobs.queue import cancel, enqueue
from threadline.messaging.service import queue_messages
from threadline.models import FlowExecution
from threadline.whatsapp_webhooks import emitters as webhook_events
from threadline.whatsapp_webhooks import names


async def run_engine(
    session: AsyncSession,
    execution: FlowExecution,
    event: EngineInput | AgentInput,
    now: datetime,
    *,
    from_wait: bool = False,
) -> None:
    """Advance ``execution`` with ``event`` and persist the outcome.

    ``from_wait``: the execution was committed as waiting and this transaction claimed it.
    """
    outcome, agent_state = await _advance(session, execution, event, now)
    await apply(session, execution, outcome, now, wake_inbox=not from_wait, agent_state=agent_state)


async def run_engine_if_current(
    session: AsyncSession,
    execution: FlowExecution,
    event: EngineInput | AgentInput,
    now: datetime,
    *,
    wait: str,
) -> bool:
    """:func:`run_engine` on an execution read before a call, outside this transaction.

    The new state is written by a compare-and-set on the state it was read in (its
    ``step_seq``, running on ``wait``): no SELECT FOR UPDATE first, the UPDATE takes the
    row lock before anything else is written, and tells whether an inbox is to be woken.
    False, with nothing written, if the row has changed since (the caller then looks at
    it under its lock).
    """
    outcome, agent_state = await _advance(session, execution, event, now)
    values = _new_state(execution, outcome, now, agent_state)
    written = await repository.write_state_if_current(session, execution, values, wait=wait)
    if written is None:
        return False
    await _carry_on(session, execution, outcome, now, wake_inbox=False, handed_off=False)
    # The row says whether an inbox holds a message for the run: no query of the messages.
    stopped = execution.status != "running" and execution.conversation_id is not None
    if written.holds_inbound and stopped:
        assert execution.conversation_id is not None
        await conversations.wake_inbox(session, execution.conversation_id)
    return True


async def _advance(
    session: AsyncSession, execution: FlowExecution, event: EngineInput | AgentInput, now: datetime
) -> tuple[Outcome, dict[str, Any] | None]:
    if execution.kind == agent_runtime.KIND:
        return await agent_runtime.advance_stored(session, execution, event, now)
    # a flow's, with the agent of the agent node it may be at
    return await flow_runtime.advance_flow(session, execution, event, now)


async def resume_claimed(
    session: AsyncSession, execution: FlowExecution, event: Resume, now: datetime
) -> None:
    """Carry on an execution whose wait this caller has just claimed (compare-and-set won).

    Its wait timer is not deleted first: a next wait with a timeout moves it (one
    statement), and only a step that stops without one cancels it, if the claimed wait
    had one (``wait_until`` is still the claimed wait's until the step writes its own).
    """
    timed = execution.wait_until is not None
    await run_engine(session, execution, event, now, from_wait=True)
    if timed and execution.wait_until is None:
        await cancel(session, timer_key(execution.id))


async def apply(
    session: AsyncSession,
    execution: FlowExecution,
    outcome: Outcome,
    now: datetime,
    *,
    wake_inbox: bool = True,
    agent_state: dict[str, Any] | None = None,
) -> None:
    """Write an outcome: state, events, outbox rows, and the jobs that carry it on.

    ``agent_state`` is an agent execution's interpreter state (None for a flow's).

    ``wake_inbox=False`` skips looking for inbound messages held back while the execution
    ran: a run claimed from a committed wait was never seen running by the inbox (which
    takes the execution's row lock before it looks), so none can be held back for it.
    """
    handed_off = execution.wait_reason == "handoff"
    await _update_row(session, execution, outcome, now, agent_state)
    await _carry_on(session, execution, outcome, now, wake_inbox=wake_inbox, handed_off=handed_off)


async def _carry_on(
    session: AsyncSession,
    execution: FlowExecution,
    outcome: Outcome,
    now: datetime,
    *,
    wake_inbox: bool,
    handed_off: bool,
) -> None:
    """What follows the new state: events, webhooks, outbox rows, timer, call, inbox."""
    await repository.add_events(session, _event_rows(execution, outcome, now))
    await _tell_webhooks(session, execution, outcome, handed_off=handed_off)
    await queue_messages(session, execution, outcome.sends, now)
    if execution.wait_until is not None:
        await _set_timer(session, execution)
    if outcome.call is not None:
        await _request_call(session, execution, outcome.call)
    if wake_inbox:
        await wake_conversation(session, execution)


async def _tell_webhooks(
    session: AsyncSession, execution: FlowExecution, outcome: Outcome, *, handed_off: bool
) -> None:
    """A run that failed, or that parked at a handoff (once), for the config's webhooks
    (an agent's also when it ends)."""
    agent = execution.kind == agent_runtime.KIND
    if outcome.status == "failed":
        name = names.AGENT_EXECUTION_FAILED if agent else names.EXECUTION_FAILED
    elif outcome.wait_reason == "handoff" and not handed_off:
        name = names.AGENT_EXECUTION_HANDOFF if agent else names.EXECUTION_HANDOFF
    elif outcome.status == "ended" and agent:
        name = names.AGENT_EXECUTION_ENDED
    else:
        return
    if agent:
        await webhook_events.agent_execution_event(session, name, execution)
    else:
        await webhook_events.execution_event(session, name, execution)


async def wake_conversation(session: AsyncSession, execution: FlowExecution) -> None:
    """Inbound messages that arrived while the execution ran are processed once it stops."""
    if execution.conversation_id is not None and execution.status != "running":
        await conversations.wake_inbox_if_pending(session, execution.conversation_id)


def _new_state(
    execution: FlowExecution, outcome: Outcome, now: datetime, agent_state: dict[str, Any] | None
) -> dict[str, Any]:
    state = outcome.state
    return {
        "agent_state": agent_state,
        "status": outcome.status,
        "current_node_id": state.node_id,
        "variables": state.variables,
        "context": state.context,
        "system": state.system,
        "step_seq": execution.step_seq + 1,
        "wait_reason": outcome.wait_reason,
        "wait_until": now + timedelta(seconds=outcome.wait_seconds)
        if outcome.wait_seconds
        else None,
        "error": outcome.error,
        "last_event_at": now,
        "ended_at": now if outcome.status in ("ended", "failed") else execution.ended_at,
    }


async def _update_row(
    session: AsyncSession,
    execution: FlowExecution,
    outcome: Outcome,
    now: datetime,
    agent_state: dict[str, Any] | None,
) -> None:
    """The new state: on a stored row one prebuilt UPDATE, on a new one its INSERT."""
    values = _new_state(execution, outcome, now, agent_state)
    if inspect(execution).persistent:
        await repository.write_state(session, execution, values)
    else:
        for name, value in values.items():
            setattr(execution, name, value)


def _event_rows(execution: FlowExecution, outcome: Outcome, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "project_id": execution.project_id,
            "execution_id": execution.id,
            "kind": event.kind,
            "node_id": event.node_id,
            "at": now,
            "duration_ms": event.duration_ms,
            "data": event.data,
        }
        for event in outcome.events
    ]


async def _set_timer(session: AsyncSession, execution: FlowExecution) -> None:
    # Replaces the queued timer of an earlier wait, if any, in the same statement.
    await enqueue(
        session,
        TIMEOUT_TASK,
        {"execution_id": str(execution.id), "seq": execution.step_seq},
        run_at=execution.wait_until,
        dedupe_key=timer_key(execution.id),
        replace=True,
        project_id=execution.project_id,
    )


#: Calls that wait on a model (no CPU used): the worker's ``model`` lane, with its many
#: slots, runs them; every other call (webhooks, functions, agents' tools) the slow lane.
MODEL_CALL_KINDS = frozenset({agent_runtime.MODEL_CALL, "ai_decide", "ai_fields"})


async def _request_call(session: AsyncSession, execution: FlowExecution, call: HttpCall) -> None:
    payload = {
        "execution_id": str(execution.id),
        "seq": execution.step_seq,
        "node_id": call.node_id,
        "kind": call.kind,
        "request": call.request,
    }
    task = MODEL_CALL_TASK if call.kind in MODEL_CALL_KINDS else CALL_TASK
    await enqueue(session, task, payload, project_id=execution.project_id)
