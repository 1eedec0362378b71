"""The two model APIs: ``POST /openai/v1/chat/completions`` and ``POST /anthropic/v1/messages``.

Each call is logged, then answered by the first that applies: an injected error fault;
after latency and any ``delay`` fault, a cassette entry, or the real provider when
recording; the model's script (a ``malformed_tool_call`` or ``empty`` fault reshapes
its answer).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from threadline.llm.types import ModelReply, ModelRequest
from threadline.model_server import anthropic_wire, openai_wire, scripts
from threadline.model_server.faults import ERROR_KINDS, Fault, Protocol
from threadline.model_server.state import ModelServerState
from threadline.model_server.wire import WireError

TAG = "model APIs"
router = APIRouter(tags=[TAG])


@dataclass(frozen=True)
class Wire:
    """One protocol's translation functions."""

    parse: Callable[[dict[str, Any]], ModelRequest]
    render: Callable[[ModelReply], dict[str, Any]]
    error_body: Callable[[int, str], dict[str, Any]]
    tool_call_prefix: str
    #: Where the vendor names its request id (the SDKs read it into ``_request_id``).
    request_id_header: str


WIRES: dict[Protocol, Wire] = {
    "openai": Wire(
        openai_wire.parse,
        openai_wire.render,
        openai_wire.error_body,
        openai_wire.TOOL_CALL_PREFIX,
        "x-request-id",
    ),
    "anthropic": Wire(
        anthropic_wire.parse,
        anthropic_wire.render,
        anthropic_wire.error_body,
        anthropic_wire.TOOL_CALL_PREFIX,
        "request-id",
    ),
}


def model_server_state(request: Request) -> ModelServerState:
    """The state of the app serving ``request``."""
    state: ModelServerState = request.app.state.model_server
    return state


@router.post("/openai/v1/chat/completions", summary="OpenAI chat completions")
async def chat_completions(request: Request) -> JSONResponse:
    """A ``chat.completion`` answered by the model's script (or a fault, or a cassette)."""
    return await answer(request, "openai")


@router.post("/anthropic/v1/messages", summary="Anthropic messages")
async def messages(request: Request) -> JSONResponse:
    """A ``message`` answered by the model's script (or a fault, or a cassette)."""
    return await answer(request, "anthropic")


def _error(
    wire: Wire, status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = {wire.request_id_header: _request_id(), **(headers or {})}
    return JSONResponse(wire.error_body(status, message), status_code=status, headers=headers)


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _has_key(request: Request) -> bool:
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return bool(bearer or request.headers.get("x-api-key"))


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def answer(request: Request, protocol: Protocol) -> JSONResponse:
    """Log the call, then answer it as :mod:`endpoints` describes."""
    state, wire = model_server_state(request), WIRES[protocol]
    body = await _body(request)
    if body is None:
        return _error(wire, 400, "the request body is not a JSON object")
    model = str(body.get("model") or "")
    state.record(protocol, request.url.path, model, body)
    if not _has_key(request):
        return _error(wire, 401, "no API key given (Authorization: Bearer or x-api-key)")
    fault = state.take_fault(protocol, model)
    if fault is not None and fault.kind in ERROR_KINDS:
        message = fault.message or f"injected fault: {fault.kind}"
        return _error(wire, fault.status(protocol), message, fault.headers())
    await _wait(state, model, fault)
    recorded = await _recorded(state, protocol, request, body)
    if recorded is not None:
        return recorded
    try:
        parsed = wire.parse(body)
    except WireError as invalid:
        return _error(wire, 400, str(invalid))
    reply = _reply(state, parsed, model, fault, wire.tool_call_prefix)
    return JSONResponse(wire.render(reply), headers={wire.request_id_header: _request_id()})


async def _recorded(
    state: ModelServerState, protocol: Protocol, request: Request, body: dict[str, Any]
) -> JSONResponse | None:
    """The cassette's answer, or (recording) the provider's; None: the script answers."""
    entry = state.recorded(protocol, body)
    if entry is None and state.recorder is not None and state.recorder.forwards(protocol):
        entry = await state.recorder.forward(protocol, dict(request.headers), body)
        state.remember(entry)
    if entry is None:
        return None
    response = entry.response
    return JSONResponse(
        response.body, status_code=response.status, headers=response.replay_headers()
    )


async def _wait(state: ModelServerState, model: str, fault: Fault | None) -> None:
    script = state.scripts.get(model)
    seconds = state.latency_seconds + (script.latency_seconds if script else 0.0)
    if fault is not None and fault.kind == "delay":
        seconds += fault.seconds
    if seconds > 0:
        await asyncio.sleep(seconds)


def _reply(
    state: ModelServerState, request: ModelRequest, model: str, fault: Fault | None, prefix: str
) -> ModelReply:
    chosen = scripts.choose(state.scripts.get(model), request)
    reply = scripts.render(chosen, request, model=model, prefix=prefix)
    if fault is not None and fault.kind == "malformed_tool_call":
        return scripts.malformed(reply, request, prefix=prefix)
    if fault is not None and fault.kind == "empty":
        return scripts.empty(reply)
    return reply
