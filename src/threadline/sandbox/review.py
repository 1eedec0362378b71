"""Template review: Meta's decision on a created template, and the webhook announcing it.

A template is decided when it is created, after ``template_review_delay_ms``, or when the
control plane says so (``POST /_sandbox/templates/{id}/review``); each decision moves its
status and sends a signed ``message_template_status_update`` to the webhook URL.
"""

from __future__ import annotations

from typing import Any, Literal

from threadline.sandbox.state import SandboxState, Template

ReviewEvent = Literal["APPROVED", "REJECTED", "PAUSED", "DISABLED", "FLAGGED", "REINSTATED"]

# FLAGGED warns without stopping sends; REINSTATED lifts a flag or a pause.
_STATUS_OF: dict[str, str | None] = {
    "APPROVED": "APPROVED",
    "REJECTED": "REJECTED",
    "PAUSED": "PAUSED",
    "DISABLED": "DISABLED",
    "FLAGGED": None,
    "REINSTATED": "APPROVED",
}


def decide(state: SandboxState, template: Template, event: ReviewEvent, reason: str | None) -> None:
    """Apply ``event`` to the template and queue its status webhook."""
    status = _STATUS_OF[event]
    if status is not None:
        template.spec.status = status  # type: ignore[assignment]
    template.rejected_reason = (reason or "NONE") if event == "REJECTED" else None
    notice = _event(template, event, reason)
    state.dispatcher.submit("template_status", {"template_status": [notice]})


def review_created(state: SandboxState, template: Template) -> None:
    """Decide a new template now or after the configured delay, per ``template_review``."""
    settings = state.settings
    outcome = settings.template_review
    if outcome == "PENDING":
        return
    reason = settings.template_rejection_reason if outcome == "REJECTED" else None
    delay = settings.template_review_delay_ms
    if delay is None:
        decide(state, template, outcome, reason)
        return
    template.spec.status = "PENDING"
    state.later(delay, lambda: _decide_if_pending(state, template.id, outcome, reason))


def _decide_if_pending(
    state: SandboxState, template_id: str, event: ReviewEvent, reason: str | None
) -> None:
    template = state.templates.get(template_id)
    if template is not None and template.spec.status == "PENDING":
        decide(state, template, event, reason)


def _event(template: Template, event: str, reason: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event,
        # An integer here, although template ids are strings everywhere else (as Meta does).
        "message_template_id": int(template.id),
        "message_template_name": template.spec.name,
        "message_template_language": template.spec.language,
        "reason": reason or "NONE",
        "message_template_category": template.spec.category,
    }
    if event == "REJECTED" and reason:
        body["rejection_info"] = {"reason": reason, "recommendation": "Edit and resubmit."}
    return body
