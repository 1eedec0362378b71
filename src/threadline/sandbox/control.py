"""The sandbox control plane under ``/_sandbox``: inspect sends, inject failures, switch limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadline.sandbox import display_names, review
from threadline.sandbox.config import SandboxSettings
from threadline.sandbox.faults import unknown_object
from threadline.sandbox.graph import sandbox_state
from threadline.sandbox.state import FailureRule, SandboxState

TAG = "sandbox control plane"
router = APIRouter(prefix="/_sandbox", tags=[TAG])


class FailureRequest(BaseModel):
    """Body of ``POST /_sandbox/failures``: fail the next ``times`` matching sends."""

    model_config = ConfigDict(extra="forbid")

    times: int = Field(default=1, ge=1)
    code: int = 131026
    http_status: int = Field(default=400, ge=400, le=599)
    message: str | None = None
    details: str | None = None
    to: str | None = None


class ReviewRequest(BaseModel):
    """Body of ``POST /_sandbox/templates/{template_id}/review``: Meta's decision."""

    model_config = ConfigDict(extra="forbid")

    event: review.ReviewEvent = "APPROVED"
    reason: str | None = Field(default=None, max_length=200, examples=["INVALID_FORMAT"])


class NameReviewRequest(BaseModel):
    """Body of ``POST /_sandbox/display_name/review``: Meta's decision on the pending name."""

    model_config = ConfigDict(extra="forbid")

    decision: display_names.Decision = "APPROVED"
    reason: str | None = Field(default=None, max_length=200)


@router.get("/health")
async def health(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """Liveness plus the identities this sandbox answers for."""
    return {
        "status": "ok",
        "boot_id": state.boot_id,
        "phone_number_id": state.config.phone_number_id,
        "waba_id": state.config.waba_id,
        "outbox_count": len(state.outbox),
    }


@router.get("/outbox")
async def get_outbox(
    to: str | None = None,
    since: datetime | None = None,
    state: SandboxState = Depends(sandbox_state),
) -> dict[str, Any]:
    """Accepted sends, oldest first; ``to`` matches the input or its digits."""
    entries = [entry.to_json() for entry in state.find_outbox(to, since)]
    return {"data": entries, "count": len(entries)}


@router.delete("/outbox")
async def clear_outbox(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """Forget every accepted send."""
    cleared = len(state.outbox)
    state.outbox.clear()
    return {"cleared": cleared}


@router.get("/reads")
async def get_reads(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """Mark-as-read requests received, oldest first."""
    return {"data": list(state.reads), "count": len(state.reads)}


@router.get("/failures")
async def get_failures(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """Injected failures still waiting to fire."""
    return {"data": [rule.to_json() for rule in state.failures]}


@router.post("/failures")
async def add_failure(
    request: FailureRequest, state: SandboxState = Depends(sandbox_state)
) -> dict[str, Any]:
    """Queue a failure; rules fire in the order they were added."""
    rule = FailureRule(remaining=request.times, **request.model_dump(exclude={"times"}))
    state.failures.append(rule)
    return {"queued": rule.to_json(), "data": [pending.to_json() for pending in state.failures]}


@router.delete("/failures")
async def clear_failures(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """Drop every pending injected failure."""
    cleared = len(state.failures)
    state.failures.clear()
    return {"cleared": cleared}


@router.get("/config")
async def get_config(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """The current switchable settings."""
    return state.settings.model_dump()


@router.post("/config")
async def update_config(
    patch: dict[str, Any] = Body(...), state: SandboxState = Depends(sandbox_state)
) -> dict[str, Any]:
    """Change some settings (unknown keys are rejected); returns all of them."""
    try:
        state.settings = SandboxSettings.model_validate({**state.settings.model_dump(), **patch})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc
    return state.settings.model_dump()


@router.post("/templates/{template_id}/review")
async def review_template(
    template_id: str, request: ReviewRequest, state: SandboxState = Depends(sandbox_state)
) -> dict[str, Any]:
    """Approve, reject (with a reason), pause, disable, flag or reinstate a template; the
    ``message_template_status_update`` webhook follows."""
    template = state.templates.get(template_id)
    if template is None:
        raise unknown_object(template_id, "POST")
    review.decide(state, template, request.event, request.reason)
    return template.to_graph()


@router.post("/display_name/review")
async def review_display_name(
    request: NameReviewRequest, state: SandboxState = Depends(sandbox_state)
) -> dict[str, Any]:
    """Approve, defer or reject (with a reason) the display name under review; the
    ``phone_number_name_update`` webhook follows; error 100 when no name is under review."""
    if not display_names.decide(state, request.decision, request.reason):
        raise unknown_object("display_name_request", "POST")
    return display_names.phone_fields(state)


@router.post("/reset")
async def reset(state: SandboxState = Depends(sandbox_state)) -> dict[str, Any]:
    """Back to the boot configuration: empty outbox, seeded templates, no failures."""
    state.reset()
    return {"reset": True, "boot_id": state.boot_id}
