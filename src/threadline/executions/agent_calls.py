"""An agent execution's model calls and external tool calls, made from a call job.

Each reads what it needs in a short read transaction, makes the call with no session
held, and returns the interpreter's input (``ModelAnswered``/``ModelFailed``,
``ToolFinished``) for the job to feed back through the compare-and-set.

A model call has no side effects: a retryable failure (429, overload, 5xx, timeout)
raises :class:`~threadline.executions.calls.TransientCallError` and the job retries it
with backoff; once the retries are spent, or when the model is not configured or refuses
the request, the execution gets ``ModelFailed`` and fails with the reason. Every model
call is recorded in the project's model usage against the execution: an answer's row in
the transaction that applies it (:class:`Answered`), a failure's in one of its own.
The read that prepares the call also checks that the execution still waits for it
(:class:`MovedOn` if not: no request is made).

A tool call carries ``Idempotency-Key: <execution>:<step>`` (webhook and MCP tools),
so a repeat after a crash is recognisable by the receiver; a tool that fails becomes a tool
error fed back to the model, which decides what to do about it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agent_tools import knowledge, webhook
from threadline.agent_tools.result import ToolError, ToolResult, ToolRetryable
from threadline.engine.agent.codec import load_state
from threadline.engine.agent.prompts import build_request
from threadline.engine.agent.state import ModelAnswered, ModelFailed, ToolFinished
from threadline.executions import agent_runtime, mcp_servers, repository
from threadline.executions.calls import TransientCallError
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.llm.client import complete, http_for
from threadline.llm.errors import ModelError
from threadline.llm.types import ModelReply, ModelRequest, ModelSpec
from threadline.models import FlowExecution
from threadline.models_registry.resolution import ModelNotConfigured, resolve
from threadline.models_registry.usage import record_call

SUBJECT_KIND = "agent_execution"
TEST_SUBJECT_KIND = "test_chat"
FLOW_SUBJECT_KIND = "flow_execution"  # a flow's agent node (as AI decisions are recorded)


class MovedOn(Exception):
    """The execution no longer waits for this call (it failed, or went past the step)."""


@dataclass(frozen=True)
class _Subject:
    """What a model call needs of its execution, read before the call (no session kept)."""

    execution_id: uuid.UUID
    project_id: uuid.UUID
    #: What the usage is recorded against: an agent's execution, a test chat, a flow's.
    kind: str
    #: The row as read (detached, not to be written through the unit of work).
    execution: FlowExecution


@dataclass(frozen=True)
class Answered:
    """A model's answer and its usage row, which :meth:`record` writes into the
    transaction that applies the answer: one commit for both."""

    answer: ModelAnswered
    subject: _Subject
    spec: ModelSpec
    reply: ModelReply
    duration_ms: float

    @property
    def execution(self) -> FlowExecution:
        """The execution as the call's preparation read it (detached): the answer is
        applied to it by a compare-and-set, with no second read."""
        return self.subject.execution

    async def record(self, session: AsyncSession) -> None:
        """Add the call's usage row to ``session``'s transaction."""
        await record_call(
            session,
            project_id=self.subject.project_id,
            spec=self.spec,
            reply=self.reply,
            error=None,
            duration_ms=self.duration_ms,
            subject_kind=self.subject.kind,
            subject_id=self.subject.execution_id,
        )


def waiting_for_call(execution: FlowExecution | None, seq: int) -> bool:
    """Whether ``execution`` still waits for the call its step ``seq`` asked for."""
    return (
        execution is not None
        and execution.status == "running"
        and execution.step_seq == seq
        and execution.wait_reason == "call"
    )


async def _prepare(
    resources: Resources, execution_id: uuid.UUID, seq: int
) -> tuple[_Subject, ModelSpec, ModelRequest]:
    async with resources.db.read() as session:
        execution = await repository.load_detached(session, execution_id)
        if not waiting_for_call(execution, seq):
            raise MovedOn(f"agent execution {execution_id} moved on")
        assert execution is not None
        if execution.agent_state is None:
            raise ModelNotConfigured(f"agent execution {execution_id} is gone")
        subject = _Subject(execution.id, execution.project_id, _subject_kind(execution), execution)
        state = load_state(execution.agent_state)
        version = await agent_runtime.version_of(session, execution)
        spec = await resolve(
            session,
            execution.project_id,
            version.model,
            resources.settings,
            cipher=resources.cipher,
        )
    spec = spec.with_settings(version.settings)
    await mcp_servers.refresh(resources, version.mcp_servers)  # no session held
    request = build_request(agent_runtime.view_of(version), state, utcnow())
    return subject, spec, request


def _subject_kind(execution: FlowExecution) -> str:
    if execution.test:
        return TEST_SUBJECT_KIND
    return SUBJECT_KIND if execution.kind == agent_runtime.KIND else FLOW_SUBJECT_KIND


async def record_model_call(
    resources: Resources,
    *,
    project_id: uuid.UUID,
    subject: tuple[str, uuid.UUID],
    spec: ModelSpec,
    outcome: ModelReply | ModelError,
    duration_ms: float,
) -> None:
    """Record what one model call of an execution came to, in a transaction of its own
    (``subject``: what the call was for, e.g. ``("agent_execution", id)``)."""
    reply = outcome if isinstance(outcome, ModelReply) else None
    error = outcome if isinstance(outcome, ModelError) else None
    async with resources.db.transaction() as session:
        await record_call(
            session,
            project_id=project_id,
            spec=spec,
            reply=reply,
            error=error,
            duration_ms=duration_ms,
            subject_kind=subject[0],
            subject_id=subject[1],
        )


async def _record(
    resources: Resources,
    subject: _Subject,
    spec: ModelSpec,
    outcome: ModelReply | ModelError,
    duration_ms: float,
) -> None:
    await record_model_call(
        resources,
        project_id=subject.project_id,
        subject=(subject.kind, subject.execution_id),
        spec=spec,
        outcome=outcome,
        duration_ms=duration_ms,
    )


async def call_model(
    resources: Resources, execution_id: uuid.UUID, seq: int
) -> Answered | ModelFailed:
    """Ask the project's model what the agent does next, if the execution still waits at
    step ``seq`` (else :class:`MovedOn`)."""
    try:
        subject, spec, request = await _prepare(resources, execution_id, seq)
    except ModelNotConfigured as missing:
        return ModelFailed(error=missing.message)
    started = time.monotonic()
    try:
        reply = await complete(spec, request, http=http_for(spec, resources))
    except ModelError as error:
        await _record(resources, subject, spec, error, _since(started))
        if error.retryable:
            raise TransientCallError(f"model {spec.name}: {error}") from error
        return ModelFailed(error=f"model {spec.name} refused the request: {error}")
    duration = _since(started)
    answer = ModelAnswered(reply=reply, duration_ms=int(duration))
    return Answered(answer=answer, subject=subject, spec=spec, reply=reply, duration_ms=duration)


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000


def tool_failure(request: dict[str, Any], error: str) -> ToolFinished:
    """What the model is told when its tool call could not be made at all."""
    return ToolFinished(call_id=str(request["call_id"]), error=error)


async def call_tool(
    resources: Resources, execution_id: uuid.UUID, key: str, request: dict[str, Any]
) -> ToolFinished:
    """Run one external tool the model called: a webhook, a knowledge base, an MCP tool.

    A failure the tool reports is fed back to the model as the tool's error; a transient
    one of a call that is safe to repeat is retried by the job first.
    """
    started = time.monotonic()
    try:
        result = await _run_tool(resources, execution_id, key, request)
    except ToolRetryable as error:
        raise TransientCallError(str(error)) from error
    except ToolError as error:
        result = error.result
    duration = int(_since(started))
    if result.is_error:
        return ToolFinished(
            call_id=str(request["call_id"]), error=result.content, duration_ms=duration
        )
    return ToolFinished(
        call_id=str(request["call_id"]), content=result.content, duration_ms=duration
    )


@dataclass(frozen=True)
class _ToolSubject:
    """What a tool call needs of its execution, read before the call.

    ``owner`` scopes the agent's knowledge bases (an agent's id, or a flow version's
    agent node), so two agents' bases with the same name never mix.
    """

    project_id: uuid.UUID
    owner: str
    variables: dict[str, Any]


def _tool_subject(execution: FlowExecution, version: agent_runtime.Version) -> _ToolSubject:
    # Placeholders read variables by name, and the flow's scopes by path (vars.x, ...).
    scopes = {"vars": execution.variables, "system": execution.system, "context": execution.context}
    variables = {**execution.variables, **execution.system, **scopes}
    owner = str(execution.agent_id) if execution.agent_id else ":".join(version.key)
    return _ToolSubject(execution.project_id, owner, variables)


async def _run_tool(
    resources: Resources, execution_id: uuid.UUID, key: str, request: dict[str, Any]
) -> ToolResult:
    kind, config, arguments = request["kind"], request["config"], request["arguments"]
    async with resources.db.read() as session:
        execution = await repository.load(session, execution_id)
        if execution is None:
            return ToolResult(content="the execution is gone", is_error=True)
        version = await agent_runtime.version_of(session, execution)
        subject = _tool_subject(execution, version)
    # The answer is applied in this process: it must know the MCP tools still pending.
    await mcp_servers.refresh(resources, version.mcp_servers)
    if kind == "webhook":
        return await webhook.call_webhook(
            config, arguments, subject.variables, http=resources.calls, idempotency_key=key
        )
    if kind == "knowledge_base":
        return await _search(resources, subject, config, arguments)
    if kind == "mcp":
        from threadline.agent_tools import mcp_client  # the SDK is imported on first use

        name = str(config.get("tool_name") or request["name"])
        return await mcp_client.call_mcp_tool(
            mcp_servers.client_config(config),
            name,
            arguments,
            http=resources.calls,
            idempotency_key=key,
        )
    return ToolResult(content=f"unknown tool kind {kind!r}", is_error=True)


async def _search(
    resources: Resources,
    subject: _ToolSubject,
    config: dict[str, Any],
    arguments: dict[str, Any],
) -> ToolResult:
    """``kb_retrieval`` over the base the model named (or the node's only one), indexed per
    agent so two agents' bases with the same key never mix."""
    bases = list(config.get("knowledge_bases") or [])
    wanted = arguments.get("knowledge_base_key")
    base = next((b for b in bases if b.get("key") == wanted), bases[0] if len(bases) == 1 else None)
    if base is None:
        keys = ", ".join(str(b.get("key")) for b in bases)
        return ToolResult(content=f"name one knowledge_base_key of: {keys}", is_error=True)
    scoped = {**base, "kb_id": f"{subject.owner}:{base.get('key')}"}
    async with resources.db.transaction() as session:
        return await knowledge.kb_retrieval(
            session, scoped, arguments, project_id=subject.project_id
        )
