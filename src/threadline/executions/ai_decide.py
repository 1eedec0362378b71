"""A flow's AI decision, made from the call job: the model picks one of the conditions.

The model is offered one tool, ``choose_condition``, whose ``label`` is an enum of the
node's condition labels, and must call it (``tool_choice="required"``); a model that
answers in text instead is read leniently (the text matching one label exactly, case
aside). Whatever it picked, the engine checks it again: a label that is not a condition
takes the decide node's ``error`` edge (``engine/nodes/calls.py``).

A model call has no side effects, so a retryable failure (429, overload, 5xx, timeout)
is a :class:`~threadline.executions.calls.TransientCallError`, retried by the job with
backoff; a model the project has not configured, or one that refuses the request,
takes the ``error`` edge at once. Every call is recorded in the project's model usage,
against the execution.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

from threadline.engine.state import CallResult
from threadline.executions import repository
from threadline.executions.agent_calls import record_model_call
from threadline.executions.calls import TransientCallError
from threadline.kit.resources import Resources
from threadline.llm.client import complete, http_for
from threadline.llm.errors import ModelError
from threadline.llm.types import ChatMessage, ModelReply, ModelRequest, ModelSpec, ToolSpec
from threadline.models_registry.resolution import ModelNotConfigured, resolve

CHOOSE_TOOL = "choose_condition"
SUBJECT_KIND = "flow_execution"

_SYSTEM = (
    "You route a WhatsApp conversation of a business's automated flow. Read the customer's "
    "last message and the conversation's variables, then choose the one condition that "
    f"fits best by calling {CHOOSE_TOOL}. Conditions:\n"
)


def _conditions(request: dict[str, Any]) -> list[dict[str, str]]:
    return [c for c in request.get("conditions", []) if isinstance(c.get("label"), str)]


def _choose_tool(labels: list[str]) -> ToolSpec:
    parameters = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": labels},
            "reason": {"type": "string", "description": "why, in one short sentence"},
        },
        "required": ["label"],
    }
    return ToolSpec(CHOOSE_TOOL, "Choose the condition that fits the conversation.", parameters)


def model_request(request: dict[str, Any]) -> ModelRequest:
    """The question put to the model for one decide node's call request."""
    conditions = _conditions(request)
    listed = "\n".join(f"- {c['label']}: {c.get('description') or c['label']}" for c in conditions)
    facts = {
        "last_user_input": request.get("last_user_input"),
        "variables": request.get("variables") or {},
    }
    question = ChatMessage(role="user", content=json.dumps(facts, ensure_ascii=False, default=str))
    return ModelRequest(
        system=_SYSTEM + listed,
        messages=(question,),
        tools=(_choose_tool([c["label"] for c in conditions]),),
        tool_choice="required",
    )


def chosen_label(reply: ModelReply, labels: list[str]) -> str | None:
    """The label the model chose: its ``choose_condition`` call, or text naming one."""
    for call in reply.tool_calls:
        if call.name == CHOOSE_TOOL and isinstance(call.arguments.get("label"), str):
            return str(call.arguments["label"])
    text = reply.text.strip().strip(".\"'").casefold()
    return next((label for label in labels if label.casefold() == text), None)


def _answer(reply: ModelReply, labels: list[str]) -> CallResult:
    reason = next(
        (c.arguments.get("reason") for c in reply.tool_calls if c.name == CHOOSE_TOOL), None
    )
    body = {
        "label": chosen_label(reply, labels),
        "reason": reason if isinstance(reason, str) else None,
        "model": reply.model,
        "usage": {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
        },
    }
    if body["label"] is None:
        body["text"] = reply.text[:500]
    return CallResult(ok=True, status_code=200, body=body)


def _with_node_settings(spec: ModelSpec, request: dict[str, Any]) -> ModelSpec:
    """The node's ``llm_temperature`` and ``llm_max_tokens`` over the registry's."""
    settings = dataclasses.replace(
        spec.settings,
        temperature=request.get("temperature", spec.settings.temperature),
        max_tokens=request.get("max_tokens", spec.settings.max_tokens),
    )
    return dataclasses.replace(spec, settings=settings)


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


async def decide(
    resources: Resources, execution_id: uuid.UUID, request: dict[str, Any]
) -> CallResult:
    """Ask the node's model to choose a condition; the answer the engine routes on."""
    try:
        project_id, spec = await _spec(resources, execution_id, request)
    except ModelNotConfigured as missing:
        return CallResult(ok=False, error=missing.message)
    subject, question, started = (
        (project_id, execution_id),
        model_request(request),
        time.monotonic(),
    )
    try:
        reply = await complete(spec, question, http=http_for(spec, resources))
    except ModelError as error:
        await _record(resources, subject, spec, error, started)
        if error.retryable:
            raise TransientCallError(f"model {spec.name}: {error}") from error
        return CallResult(ok=False, error=f"model {spec.name} refused the request: {error}")
    await _record(resources, subject, spec, reply, started)
    return _answer(reply, [c["label"] for c in _conditions(request)])
