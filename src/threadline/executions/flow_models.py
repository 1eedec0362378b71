"""A flow node's model call, made from the call job: AI decide and AI fields both use it.

:func:`ask` resolves the node's ``provider_model_name`` through the project's model
registry, calls the model, and records the call in the project's model usage, against
the execution. A model call has no side effects, so a retryable failure (429, overload,
5xx, timeout) is a :class:`~threadline.executions.calls.TransientCallError`, retried by
the job with backoff; a model the project has not configured, or one that refuses the
request, is a :class:`~threadline.executions.calls.PermanentCallError`: the node's call
fails at once, with the reason.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from threadline.executions import repository
from threadline.executions.agent_calls import FLOW_SUBJECT_KIND, record_model_call
from threadline.executions.calls import PermanentCallError, TransientCallError
from threadline.kit.resources import Resources
from threadline.llm.client import complete, http_for
from threadline.llm.errors import ModelError
from threadline.llm.types import ChatMessage, ModelReply, ModelRequest, ModelSettings, ModelSpec
from threadline.models_registry.resolution import ModelNotConfigured, resolve

SUBJECT_KIND = FLOW_SUBJECT_KIND


def facts(request: dict[str, Any]) -> ChatMessage:
    """The run's facts the model is shown: the last user input and the variables."""
    shown = {
        "last_user_input": request.get("last_user_input"),
        "variables": request.get("variables") or {},
    }
    return ChatMessage(role="user", content=json.dumps(shown, ensure_ascii=False, default=str))


def _with_node_settings(spec: ModelSpec, request: dict[str, Any]) -> ModelSpec:
    """The node's ``temperature`` and ``max_tokens``, when it sets them, over the registry's."""
    node = ModelSettings(
        temperature=request.get("temperature"), max_tokens=request.get("max_tokens")
    )
    return spec.with_settings(node)


async def _spec(
    resources: Resources, execution_id: uuid.UUID, request: dict[str, Any]
) -> tuple[uuid.UUID, ModelSpec]:
    """The execution's project and the node's model (read in a session closed before the call)."""
    async with resources.db.read() as session:
        execution = await repository.load(session, execution_id)
        if execution is None:
            raise ModelNotConfigured(f"execution {execution_id} is gone")
        project_id = execution.project_id
        name = request.get("provider_model_name")
        spec = await resolve(session, project_id, name, resources.settings, cipher=resources.cipher)
    return project_id, _with_node_settings(spec, request)


async def _record(
    resources: Resources,
    subject: tuple[uuid.UUID, uuid.UUID],
    spec: ModelSpec,
    outcome: ModelReply | ModelError,
    started: float,
) -> None:
    project_id, execution_id = subject
    await record_model_call(
        resources,
        project_id=project_id,
        subject=(SUBJECT_KIND, execution_id),
        spec=spec,
        outcome=outcome,
        duration_ms=(time.monotonic() - started) * 1000,
    )


async def ask(
    resources: Resources,
    execution_id: uuid.UUID,
    request: dict[str, Any],
    question: ModelRequest,
) -> ModelReply:
    """Put ``question`` to the model ``request`` names; its reply, recorded in the usage."""
    try:
        project_id, spec = await _spec(resources, execution_id, request)
    except ModelNotConfigured as missing:
        raise PermanentCallError(missing.message) from missing
    subject, started = (project_id, execution_id), time.monotonic()
    try:
        reply = await complete(spec, question, http=http_for(spec, resources))
    except ModelError as error:
        await _record(resources, subject, spec, error, started)
        if error.retryable:
            raise TransientCallError(f"model {spec.name}: {error}") from error
        raise PermanentCallError(f"model {spec.name} refused the request: {error}") from error
    await _record(resources, subject, spec, reply, started)
    return reply
