"""Calls a sandbox phone makes or answers, webhooked as Meta's ``calls`` change.

A call is two events, as the Calling API reports them: ``connect`` (the user's SDP offer
for a call the user starts, the SDP answer for one the business starts) and
``terminate`` (with ``status``, ``start_time``, ``end_time`` and ``duration``). A call
permission reply is an ``interactive`` message of type ``call_permission_reply``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threadline.sandbox.state import SandboxState, digits

_SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=sandbox\r\nt=0 0\r\n"


class CallRequest(BaseModel):
    """Body of ``POST /_sandbox/calls``: a call between a phone and the number."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", min_length=5, max_length=20)
    direction: Literal["USER_INITIATED", "BUSINESS_INITIATED"] = "USER_INITIATED"
    status: Literal["COMPLETED", "FAILED"] = "COMPLETED"
    duration_seconds: int = Field(default=30, ge=0, le=86_400)
    terminate: bool = Field(default=True, description="false: only the connect event")


class PermissionRequest(BaseModel):
    """Body of ``POST /_sandbox/call_permission``: the phone answers a permission request."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", min_length=5, max_length=20)
    response: Literal["accept", "reject"] = "accept"
    expires_in_days: int = Field(default=7, ge=1, le=30)


def place(state: SandboxState, request: CallRequest) -> tuple[str, list[str]]:
    """Webhook the call's events; its ``wacid`` and the deliveries' ids."""
    wa_id, number = digits(request.from_), digits(state.config.display_phone_number)
    user_started = request.direction == "USER_INITIATED"
    common = {
        "id": _wacid(state),
        "from": wa_id if user_started else number,
        "to": number if user_started else wa_id,
        "direction": request.direction,
    }
    now = state.now()
    events = [_connect(common, now.timestamp(), user_started)]
    if request.terminate:
        end = now + timedelta(seconds=request.duration_seconds)
        events.append(_terminate(common, now.timestamp(), end.timestamp(), request))
    contact = {"profile": {"name": state.phone(wa_id).profile_name or "Sandbox user"}}
    deliveries = []
    for event in events:
        value = {"contacts": [{**contact, "wa_id": wa_id}], "calls": [event]}
        delivery = state.dispatcher.submit("calls", value)
        if delivery is not None:
            deliveries.append(delivery.id)
    return str(common["id"]), deliveries


def _wacid(state: SandboxState) -> str:
    return "wacid." + state.next_wamid().removeprefix("wamid.")


def _connect(common: dict[str, Any], at: float, user_started: bool) -> dict[str, Any]:
    session = {"sdp_type": "offer" if user_started else "answer", "sdp": _SDP}
    return {**common, "event": "connect", "timestamp": str(int(at)), "session": session}


def _terminate(
    common: dict[str, Any], start: float, end: float, request: CallRequest
) -> dict[str, Any]:
    return {
        **common,
        "event": "terminate",
        "timestamp": str(int(end)),
        "status": request.status,
        "start_time": str(int(start)),
        "end_time": str(int(end)),
        "duration": request.duration_seconds,
    }


def permission_reply(state: SandboxState, request: PermissionRequest) -> dict[str, Any]:
    """The ``interactive`` body of the phone's answer to a call permission request."""
    expires = state.now() + timedelta(days=request.expires_in_days)
    reply: dict[str, Any] = {"response": request.response, "response_source": "user_action"}
    if request.response == "accept":
        reply["expiration_timestamp"] = str(int(expires.timestamp()))
    return {"type": "call_permission_reply", "call_permission_reply": reply}
