"""Jobs that move executions: fire wait timeouts, make calls (and advance, see below).

A resume runs the engine in its own transaction (``service.resume``, ``turns.resume``);
``executions.advance`` jobs are no longer enqueued, and the task stays registered so
that jobs queued by an earlier version still run after an upgrade.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.engine.agent.state import AgentInput, ModelFailed, ToolFinished
from threadline.engine.state import CallResult, EngineInput, Resume
from threadline.executions import (
    agent_calls,
    agent_runtime,
    ai_decide,
    ai_fields,
    calls,
    repository,
)
from threadline.executions.failure import fail_execution
from threadline.executions.keys import ADVANCE_TASK, CALL_TASK, MODEL_CALL_TASK, TIMEOUT_TASK
from threadline.executions.runtime import resume_claimed, run_engine, run_engine_if_current
from threadline.functions.service import FunctionNotFound
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.kit.faults import crash_point
from threadline.messaging import hooks as messaging_hooks
from threadline.whatsapp_configs import hooks as config_hooks


async def give_up(session: AsyncSession, payload: dict[str, Any], error: str) -> None:
    """A job that moves an execution ran out of retries: the execution fails, visibly."""
    failure = {"message": f"internal error, gave up: {error}".replace("\x00", "")}
    seq = payload.get("seq")  # a delivery job has none: it fails whatever step is current
    execution_id = uuid.UUID(payload["execution_id"])
    await fail_execution(
        session, execution_id, failure, utcnow(), expected_seq=seq, fail_ended=False
    )


def _resume_event(event: dict[str, Any]) -> Resume:
    return Resume(reason=event["reason"], input=event.get("input"), message=event.get("message"))


async def _advance_if_current(
    ctx: JobContext,
    event: EngineInput | AgentInput,
    *,
    wait: str | None,
    answered: agent_calls.Answered | None = None,
) -> None:
    """Run the engine if the execution is still at the step this job was made for
    (``answered``: the model call's usage row, written whether or not it still is)."""
    async with ctx.resources.db.transaction() as session:
        if answered is None or not await _apply_answer(session, answered, event, wait):
            await _run_if_current(session, ctx.job.payload, event, wait)
        crash_point("advance.before_commit")
        await ctx.finish(session)
    crash_point("advance.after_commit")


async def _apply_answer(
    session: AsyncSession,
    answered: agent_calls.Answered,
    event: EngineInput | AgentInput,
    wait: str | None,
) -> bool:
    """The model's usage row, then its answer through the compare-and-set on the row as
    read before the call; False if the row changed since (not necessarily stale)."""
    await answered.record(session)
    assert wait is not None
    return await run_engine_if_current(session, answered.execution, event, utcnow(), wait=wait)


async def _run_if_current(
    session: AsyncSession,
    payload: dict[str, Any],
    event: EngineInput | AgentInput,
    wait: str | None,
) -> None:
    """Lock the row, and run the engine if it is still at the job's step."""
    execution = await repository.get_for_update(session, uuid.UUID(payload["execution_id"]))
    current = (
        execution is not None
        and execution.status == "running"
        and execution.step_seq == payload["seq"]
        and execution.wait_reason == wait
    )
    if current:
        assert execution is not None
        await run_engine(session, execution, event, utcnow())


@registry.task(
    ADVANCE_TASK,
    policy=RetryPolicy(max_attempts=20, base_delay=0.2, max_delay=30),
    on_give_up=give_up,
)
async def advance(ctx: JobContext) -> None:
    """Carry a resumed execution on to its next wait."""
    await _advance_if_current(ctx, _resume_event(ctx.job.payload["event"]), wait=None)


@registry.task(
    TIMEOUT_TASK,
    policy=RetryPolicy(max_attempts=20, base_delay=0.2, max_delay=30),
    on_give_up=give_up,
)
async def timeout(ctx: JobContext) -> None:
    """A wait ran out of time: resume it with reason ``timeout`` unless it moved on."""
    payload = ctx.job.payload
    execution_id = uuid.UUID(payload["execution_id"])
    now = utcnow()
    async with ctx.resources.db.transaction() as session:
        execution = await repository.claim_waiting(
            session, execution_id, reasons=("user_input",), now=now, expected_seq=payload["seq"]
        )
        if execution is not None:
            await resume_claimed(session, execution, Resume(reason="timeout"), now)
        crash_point("advance.before_commit")
        await ctx.finish(session)
    crash_point("advance.after_commit")


CallAnswer = CallResult | agent_calls.Answered | ModelFailed | ToolFinished


async def _call(ctx: JobContext) -> CallAnswer:
    payload = ctx.job.payload
    key = f"{payload['execution_id']}:{payload['seq']}"
    execution_id, kind = uuid.UUID(payload["execution_id"]), payload["kind"]
    if kind == "webhook":
        return await calls.webhook(ctx.resources, key, payload["request"])
    if kind == "ai_decide":
        return await ai_decide.decide(ctx.resources, execution_id, payload["request"])
    if kind == "ai_fields":
        return await ai_fields.write(ctx.resources, execution_id, payload["request"])
    if kind == agent_runtime.MODEL_CALL:
        return await agent_calls.call_model(ctx.resources, execution_id, payload["seq"])
    if kind == agent_runtime.TOOL_CALL:
        return await agent_calls.call_tool(ctx.resources, execution_id, key, payload["request"])
    return await calls.function(ctx.resources, key, execution_id, payload)


def _failure(payload: dict[str, Any], error: str) -> CallAnswer:
    """What the interpreter is told of a call that failed for good."""
    if payload["kind"] == agent_runtime.MODEL_CALL:
        return ModelFailed(error=error)
    if payload["kind"] == agent_runtime.TOOL_CALL:
        return agent_calls.tool_failure(payload["request"], error)
    return CallResult(ok=False, error=error)


async def _call_result(ctx: JobContext) -> CallAnswer:
    payload = ctx.job.payload
    retries = int(payload["request"].get("retries", 2))
    try:
        return await _call(ctx)
    except FunctionNotFound as error:
        return _failure(payload, error.message)
    except calls.PermanentCallError as error:
        return _failure(payload, str(error))
    except calls.TransientCallError as error:
        if ctx.job.attempts <= retries:
            raise
        return _failure(payload, str(error))


async def make_call(ctx: JobContext) -> None:
    """Make a node's call (HTTP, a model's, an agent's tool), then feed the answer back.

    An execution that moved on while the job was queued (failed, or resumed past the
    call) gets no request: the job just ends. A model call checks that in the read that
    prepares it; its answer's usage row is written with the answer.
    """
    model = ctx.job.payload["kind"] == agent_runtime.MODEL_CALL
    try:
        if not model and not await _still_waiting_for_call(ctx):
            raise agent_calls.MovedOn()
        result = await _call_result(ctx)
    except agent_calls.MovedOn:
        async with ctx.resources.db.transaction() as session:
            await ctx.finish(session)
        return
    if isinstance(result, agent_calls.Answered):
        crash_point("agent.model_answered")  # answered, neither applied nor recorded
        await _advance_if_current(ctx, result.answer, wait="call", answered=result)
        return
    await _advance_if_current(ctx, result, wait="call")


registry.task(
    CALL_TASK,
    policy=RetryPolicy(max_attempts=12, base_delay=0.5, max_delay=60),
    on_give_up=give_up,
    lane="slow",
)(make_call)
# A model call waits on a provider with no CPU used: the model lane's many slots.
registry.task(
    MODEL_CALL_TASK,
    policy=RetryPolicy(max_attempts=12, base_delay=1.0, max_delay=60),
    on_give_up=give_up,
    lane="model",
)(make_call)


async def _still_waiting_for_call(ctx: JobContext) -> bool:
    payload = ctx.job.payload
    async with ctx.resources.db.read() as session:
        execution = await repository.load(session, uuid.UUID(payload["execution_id"]))
        return agent_calls.waiting_for_call(execution, payload["seq"])


# Messaging reports refused messages and exhausted delivery jobs through these hooks.
messaging_hooks.register(
    messaging_hooks.ExecutionHooks(fail_execution=fail_execution, give_up=give_up)
)


async def stop_for_deleted_config(
    session: AsyncSession, execution_id: uuid.UUID, error: dict[str, Any], now: datetime
) -> bool:
    """Fail a live execution whose WhatsApp config is being deleted (an ended one stays ended)."""
    return await fail_execution(session, execution_id, error, now, fail_ended=False)


# A forced delete of a WhatsApp config stops its live executions through this hook.
config_hooks.register(stop_for_deleted_config)
