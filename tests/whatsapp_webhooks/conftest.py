"""A real HTTP receiver for event webhooks: records every request's raw bytes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from support import free_port
from threadline.config import Settings


@dataclass
class Received:
    """One request as the receiver got it."""

    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """The receiver's URL, what it got, and how many requests it still fails.

    ``fail_if`` refuses (503) every body it says yes to; ``gate``, while set to an unset
    event, holds every answer (or those ``hold_if`` says yes to); ``max_delay`` makes
    each answer wait up to that long.
    """

    url: str
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    failed: int = 0
    fail_if: Callable[[bytes], bool] | None = None
    gate: asyncio.Event | None = None
    hold_if: Callable[[bytes], bool] | None = None
    max_delay: float = 0.0
    arrived: int = 0

    def bodies(self) -> list[bytes]:
        """The raw bodies answered 2xx, in arrival order."""
        return [r.body for r in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A uvicorn server on 127.0.0.1 (allowed by the tests' egress allow-list)."""
    port = free_port()
    state = Receiver(url=f"http://127.0.0.1:{port}/hook")

    async def hook(request: Request) -> Response:
        body = await request.body()
        state.arrived += 1
        if state.gate is not None and (state.hold_if is None or state.hold_if(body)):
            await state.gate.wait()
        if state.max_delay:
            await asyncio.sleep(random.uniform(0, state.max_delay))
        if state.fail_next > 0 or (state.fail_if is not None and state.fail_if(body)):
            state.fail_next = max(state.fail_next - 1, 0)
            state.failed += 1
            return Response("down", status_code=503)
        state.received.append(Received(body, dict(request.headers)))
        return Response("ok")

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield state
    server.should_exit = True
    await task


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' settings, with a webhook delivery given up after three attempts."""
    return settings.model_copy(update={"webhook_max_attempts": 3})
