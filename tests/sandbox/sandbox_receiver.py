"""A real HTTP server that plays the platform's webhook endpoint for sandbox tests.

It keeps every POST's exact bytes and headers, and answers with queued statuses (200 once
they run out) or with an async handler, so a test can check signatures, retries and order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send


@dataclass(frozen=True)
class Received:
    """One webhook POST as it arrived."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def value(self) -> dict[str, Any]:
        """The single change's ``value`` (the sandbox sends one entry with one change)."""
        value: dict[str, Any] = self.json()["entry"][0]["changes"][0]["value"]
        return value


Handler = Callable[[Received], Awaitable[int]]
"""Answers a POST with an HTTP status (a platform's webhook endpoint)."""


class Receiver:
    """An ASGI app recording webhook POSTs; ``statuses`` are answered first, then 200."""

    def __init__(self) -> None:
        self.url = ""
        self.reset()

    def reset(self) -> None:
        """Forget what was received and every queued answer."""
        self.verify_token = "receiver-token"
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.handler: Handler | None = None
        self._arrived = asyncio.Event()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The first ``count`` POSTs, once they arrived."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received[:count]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await self._handshake(scope, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received = Received({k.decode().lower(): v.decode() for k, v in scope["headers"]}, body)
        status = self.statuses.pop(0) if self.statuses else 200
        if status < 300 and self.handler is not None:
            status = await self.handler(received)
        if status < 300:
            self.received.append(received)
            self._arrived.set()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def _handshake(self, scope: Scope, send: Send) -> None:
        """Meta's GET verification: echo ``hub.challenge`` if the token matches."""
        query = dict(parse_qsl(scope["query_string"].decode()))
        ok = query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == (
            self.verify_token
        )
        body = query.get("hub.challenge", "").encode() if ok else b"Forbidden"
        await send({"type": "http.response.start", "status": 200 if ok else 403, "headers": []})
        await send({"type": "http.response.body", "body": body})
