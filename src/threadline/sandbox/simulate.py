"""The phone side of the control plane: inbound messages, statuses, errors, clock, webhooks.

What a WhatsApp user (or Meta itself) would do, driven over HTTP: inject a message of any
type from a phone, force a status for a sent message, emit value-level errors, move the
clock past the 24-hour window, read a phone's thread, and inspect or redeliver webhooks.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from threadline.kit.multipart import UPLOAD_OPENAPI
from threadline.sandbox import calls, inbound, statuses
from threadline.sandbox import media as media_store
from threadline.sandbox.faults import TITLES, GraphFault
from threadline.sandbox.graph import public_base_url, sandbox_state
from threadline.sandbox.phones import Phone
from threadline.sandbox.state import SandboxState, digits
from threadline.sandbox.thread import thread_json
from threadline.sandbox.webhooks import iso

TAG = "sandbox phones and webhooks"
router = APIRouter(prefix="/_sandbox", tags=[TAG])
Sandbox = Annotated[SandboxState, Depends(sandbox_state)]


class ErrorsRequest(BaseModel):
    """Body of ``POST /_sandbox/errors``: one value-level error Meta reports asynchronously."""

    model_config = ConfigDict(extra="forbid")
    code: int = 130429
    title: str | None = None
    details: str | None = None


class StatusRequest(BaseModel):
    """Body of ``POST /_sandbox/status``: report this status for a sent message."""

    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(min_length=1, description="The wamid the send answered with")
    status: Literal["sent", "delivered", "read", "played", "failed"]
    code: int = Field(default=131000, description="Meta's error code, for failed")
    title: str | None = None
    details: str | None = None


class ClockRequest(BaseModel):
    """Body of ``POST /_sandbox/clock``: move the sandbox's clock forward."""

    model_config = ConfigDict(extra="forbid")
    advance_seconds: float = Field(ge=0, le=10 * 365 * 86400)


class VerifyRequest(BaseModel):
    """Body of ``POST /_sandbox/webhooks/verify``: the token Meta's dashboard was given."""

    model_config = ConfigDict(extra="forbid")
    verify_token: str = Field(min_length=1)


class ReadRequest(BaseModel):
    """Body of ``POST /_sandbox/thread/read``: the phone opened its thread."""

    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1)


@router.post("/inbound")
async def inject_inbound(request: inbound.InboundRequest, state: Sandbox) -> dict[str, Any]:
    """A phone sends a message of any type; it is webhooked to the platform like Meta does."""
    try:
        message, delivery_id = inbound.inject(state, request)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"wamid": message["id"], "delivery_id": delivery_id, "message": message}


@router.post("/calls")
async def place_call(request: calls.CallRequest, state: Sandbox) -> dict[str, Any]:
    """A call between a phone and the number: its ``connect`` and ``terminate`` webhooks."""
    wacid, deliveries = calls.place(state, request)
    return {"call_id": wacid, "delivery_ids": deliveries}


@router.post("/call_permission")
async def answer_call_permission(
    request: calls.PermissionRequest, state: Sandbox
) -> dict[str, Any]:
    """The phone answers a call permission request (an ``interactive`` message)."""
    body: dict[str, Any] = {"from": request.from_, "type": "interactive"}
    body |= {"interactive": calls.permission_reply(state, request)}
    message, delivery_id = inbound.inject(state, inbound.InboundRequest.model_validate(body))
    return {"wamid": message["id"], "delivery_id": delivery_id, "message": message}


@router.post("/errors")
async def emit_errors(request: ErrorsRequest, state: Sandbox) -> dict[str, Any]:
    """A value-level ``errors`` webhook (system or app errors, e.g. 130429)."""
    title = request.title or TITLES.get(request.code, "Error")
    error = {
        "code": request.code,
        "title": title,
        "message": title,
        "error_data": {"details": request.details or title},
        "href": "/documentation/business-messaging/whatsapp/support/error-codes",
    }
    delivery = state.dispatcher.submit("errors", {"errors": [error]})
    return {"error": error, "delivery_id": delivery.id if delivery is not None else None}


@router.post("/status")
async def force_status(request: StatusRequest, state: Sandbox) -> dict[str, Any]:
    """Report any status for a sent message, including ``failed`` with any error code."""
    outbound = state.sent.get(request.message_id)
    if outbound is None:
        raise HTTPException(404, f"No accepted send has the id {request.message_id!r}")
    error = (request.code, request.details, request.title)
    item, delivery_id = statuses.force(state, outbound, request.status, error)
    return {"status": item, "delivery_id": delivery_id}


@router.get("/clock")
async def get_clock(state: Sandbox) -> dict[str, Any]:
    """The sandbox's time and how far it was moved ahead of the wall clock."""
    return {"now": iso(state.now()), "offset_seconds": state.clock_offset.total_seconds()}


@router.post("/clock")
async def advance_clock(request: ClockRequest, state: Sandbox) -> dict[str, Any]:
    """Move the clock forward (windows close, webhook timestamps jump); reset undoes it."""
    state.clock_offset += timedelta(seconds=request.advance_seconds)
    return await get_clock(state)


@router.get("/phones")
async def list_phones(state: Sandbox) -> dict[str, Any]:
    """Phones that wrote to the sandbox number or were written to, most recent first."""
    now, hours = state.now(), state.settings.window_hours
    phones = sorted(state.phones.values(), key=_last_activity, reverse=True)
    data = [phone.to_json(now, hours) for phone in phones]
    return {"data": data, "count": len(data)}


@router.get("/thread")
async def get_thread(phone: str, state: Sandbox) -> dict[str, Any]:
    """One phone's chat: its messages and the ones delivered to it, with status ticks."""
    wa_id = _wa_id(phone)
    return thread_json(state, state.phones.get(wa_id), wa_id)


@router.post("/thread/read")
async def read_thread(request: ReadRequest, state: Sandbox) -> dict[str, Any]:
    """The phone reads its thread: unread messages get a ``read`` status webhook."""
    return {"read": statuses.read_by_phone(state, _wa_id(request.phone))}


@router.get("/webhooks")
async def list_webhooks(
    state: Sandbox, status: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    """The delivery log, oldest first: each POST's exact payload, signature and attempts."""
    deliveries = [
        delivery.to_json()
        for delivery in state.dispatcher.log.values()
        if status in (None, delivery.status) and kind in (None, delivery.kind)
    ]
    return {"data": deliveries, "count": len(deliveries), "pending": state.dispatcher.pending()}


@router.delete("/webhooks")
async def clear_webhooks(state: Sandbox) -> dict[str, Any]:
    """Forget the delivery log and drop deliveries not yet sent."""
    cleared = len(state.dispatcher.log)
    state.dispatcher.clear()
    return {"cleared": cleared}


@router.post("/webhooks/verify")
async def verify_webhook(request: VerifyRequest, state: Sandbox) -> dict[str, Any]:
    """Meta's handshake: GET the webhook URL with ``hub.*`` and check the challenge echoed."""
    url = state.settings.webhook_url
    if url is None:
        raise HTTPException(409, "Set webhook_url first (POST /_sandbox/config)")
    challenge = str(secrets.randbelow(10**10))
    query = {"hub.mode": "subscribe", "hub.challenge": challenge,
             "hub.verify_token": request.verify_token}  # fmt: skip
    try:
        async with httpx.AsyncClient(timeout=state.settings.webhook_timeout_s) as client:
            response = await client.get(url, params=query)
    except httpx.HTTPError as exc:
        return {"verified": False, "status_code": None, "error": f"{type(exc).__name__}: {exc}"}
    verified = response.status_code == 200 and response.text == challenge
    return {"verified": verified, "status_code": response.status_code, "error": None}


@router.post("/webhooks/{delivery_id}/redeliver")
async def redeliver(delivery_id: str, state: Sandbox) -> dict[str, Any]:
    """Send a logged delivery's exact bytes again, as a new delivery."""
    original = state.dispatcher.log.get(delivery_id)
    if original is None:
        raise HTTPException(404, f"No webhook delivery has the id {delivery_id!r}")
    if original.body is None:
        raise HTTPException(409, f"Delivery {delivery_id} has not been sent yet")
    return state.dispatcher.redeliver(original).to_json()


@router.post("/media", openapi_extra=UPLOAD_OPENAPI)
async def upload_inbound_media(request: Request, state: Sandbox) -> dict[str, Any]:
    """Upload a file for inbound media messages (multipart ``file`` and ``type``)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    try:
        stored = media_store.upload_media(state, content_type, body, require_product=False)
    except GraphFault as fault:
        raise HTTPException(422, fault.details or fault.title) from fault
    return {"id": stored.id, **media_store.to_graph(stored, public_base_url(request))}


def _wa_id(phone: str) -> str:
    wa_id = digits(phone)
    if not 6 <= len(wa_id) <= 15:
        raise HTTPException(422, f"phone must be a phone number of 6 to 15 digits; got {phone!r}")
    return wa_id


def _last_activity(phone: Phone) -> str:
    last = phone.thread[-1] if phone.thread else None
    moment = getattr(last, "received_at", None) or getattr(last, "sent_at", None)
    return iso(moment) or ""
