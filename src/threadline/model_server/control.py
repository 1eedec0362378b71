"""The control plane under ``/_control``: scripts, faults, latency, cassettes, requests, reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from threadline.model_server.cassettes import Cassette
from threadline.model_server.endpoints import model_server_state
from threadline.model_server.faults import Fault, Protocol
from threadline.model_server.scripts import Script
from threadline.model_server.state import ModelServerState

TAG = "model server control plane"
router = APIRouter(prefix="/_control", tags=[TAG])


class Latency(BaseModel):
    """Body of ``POST /_control/latency``: every answer waits ``seconds`` first."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=600)


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@router.get("/scripts")
async def list_scripts(state: ModelServerState = Depends(model_server_state)) -> dict[str, Any]:
    """The scripts loaded, by model name (fixed replies already used are gone)."""
    return {"scripts": {model: script.model_dump() for model, script in state.scripts.items()}}


@router.put("/scripts/{model}")
@router.post("/scripts/{model}")
async def load_script(
    model: str, script: Script, state: ModelServerState = Depends(model_server_state)
) -> dict[str, Any]:
    """Answer ``model``'s calls from ``script`` (replacing any script it had)."""
    state.scripts[model] = script
    return {"model": model, "script": script.model_dump()}


@router.delete("/scripts/{model}")
async def drop_script(
    model: str, state: ModelServerState = Depends(model_server_state)
) -> dict[str, Any]:
    """Back to the built-in answers for ``model``."""
    return {"model": model, "removed": state.scripts.pop(model, None) is not None}


@router.post("/faults")
async def inject_fault(
    fault: Fault, state: ModelServerState = Depends(model_server_state)
) -> dict[str, Any]:
    """Queue ``fault`` for the next ``times`` matching calls (after the ones queued)."""
    state.faults.append(fault)
    return {"faults": [f.model_dump() for f in state.faults]}


@router.get("/faults")
async def list_faults(state: ModelServerState = Depends(model_server_state)) -> dict[str, Any]:
    """The faults still waiting."""
    return {"faults": [f.model_dump() for f in state.faults]}


@router.post("/latency")
async def set_latency(
    latency: Latency, state: ModelServerState = Depends(model_server_state)
) -> dict[str, float]:
    """Make every answer wait ``seconds``."""
    state.latency_seconds = latency.seconds
    return {"seconds": state.latency_seconds}


@router.post("/cassettes")
async def load_cassette(
    cassette: Cassette, state: ModelServerState = Depends(model_server_state)
) -> dict[str, int]:
    """Add recorded entries (before the ones loaded at start: the newest match first)."""
    state.cassette = [*cassette.entries, *state.cassette]
    return {"entries": len(state.cassette)}


@router.get("/requests")
async def received_requests(
    protocol: Protocol | None = None,
    model: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    state: ModelServerState = Depends(model_server_state),
) -> dict[str, Any]:
    """The calls received (oldest first, the last ``limit``), without their API keys."""
    hits = [
        r.as_json()
        for r in state.requests
        if protocol in (None, r.protocol) and model in (None, r.model)
    ]
    return {"data": hits[-limit:]}


@router.post("/reset")
async def reset(state: ModelServerState = Depends(model_server_state)) -> dict[str, str]:
    """Forget scripts, faults, latency, loaded cassettes and received requests."""
    state.reset()
    return {"status": "reset"}
