"""Display name review: Meta's decision on a requested name, and the webhook announcing it.

``POST /{v}/{phone_number_id}`` with ``new_display_name`` (query, form or JSON) records
the name as pending; it is decided at once, after ``name_review_delay_ms``, or when the
control plane says so (``POST /_sandbox/display_name/review``). Each decision sends a
signed ``phone_number_name_update``; an approval makes the name the number's
``verified_name``. The phone number's GET shows ``name_status``, ``new_name_status`` and
``new_display_name`` as Meta does while a name is under review.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import Request

from threadline.sandbox.faults import invalid_parameter
from threadline.sandbox.state import NameRequest, SandboxState

Decision = Literal["APPROVED", "DEFERRED", "REJECTED"]
#: Meta's ``new_name_status`` after each decision.
_NAME_STATUS = {"APPROVED": "APPROVED", "DEFERRED": "DEFERRED", "REJECTED": "DECLINED"}
_MAX_LENGTH = 200


async def requested_name(request: Request) -> str:
    """``new_display_name`` from the query, a form or a JSON body, as Meta accepts it."""
    name = request.query_params.get("new_display_name") or _from_body(await request.body())
    if not isinstance(name, str) or not name.strip():
        raise invalid_parameter("(#100) The parameter new_display_name is required")
    if len(name) > _MAX_LENGTH:
        raise invalid_parameter(f"(#100) new_display_name must be at most {_MAX_LENGTH} characters")
    return name.strip()


def _from_body(raw: bytes) -> Any:
    text = raw.decode(errors="replace").strip()
    if text.startswith("{"):
        try:
            return json.loads(text).get("new_display_name")
        except (ValueError, AttributeError):
            return None
    values = parse_qs(text).get("new_display_name")
    return values[0] if values else None


def request(state: SandboxState, name: str) -> dict[str, Any]:
    """Record ``name`` for review (replacing one under review) and schedule the decision."""
    state.name_request = pending = NameRequest(name)
    settings = state.settings
    outcome = settings.name_review
    if outcome != "PENDING":
        reason = settings.name_rejection_reason if outcome == "REJECTED" else None
        delay = settings.name_review_delay_ms
        if delay is None:
            decide(state, outcome, reason)
        else:
            state.later(delay, lambda: _decide_if_pending(state, pending, outcome, reason))
    return {"success": True}


def _decide_if_pending(
    state: SandboxState, pending: NameRequest, decision: Decision, reason: str | None
) -> None:
    if state.name_request is pending and pending.status == "PENDING_REVIEW":
        decide(state, decision, reason)


def decide(state: SandboxState, decision: Decision, reason: str | None) -> bool:
    """Apply Meta's ``decision`` to the name under review; ``False`` if there is none."""
    pending = state.name_request
    if pending is None or pending.status != "PENDING_REVIEW":
        return False
    pending.status = _NAME_STATUS[decision]
    if decision == "APPROVED":
        state.verified_name = pending.name
    value = {
        "display_phone_number": _digits(state.config.display_phone_number),
        "decision": decision,
        "requested_verified_name": pending.name,
        "rejection_reason": (reason or "NONE") if decision == "REJECTED" else "NONE",
    }
    state.dispatcher.submit("name_update", {"name_update": [value]})
    return True


def phone_fields(state: SandboxState) -> dict[str, Any]:
    """The name fields of the phone number's GET."""
    fields: dict[str, Any] = {"verified_name": state.verified_name, "name_status": "APPROVED"}
    pending = state.name_request
    if pending is not None:
        fields["new_name_status"] = pending.status
        fields["new_display_name"] = pending.name
    return fields


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())
