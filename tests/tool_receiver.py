"""Local HTTP servers for the agent tools' tests: a receiver that records requests and
answers as told, and :func:`serve` to run any ASGI app on a free port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from support import free_port


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """What to answer: a status, a body (JSON unless ``raw``), headers, after a delay."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bool = False


Handler = Callable[[Received], Awaitable[Reply] | Reply]


class Receiver:
    """An ASGI app recording every request; a path without a handler answers 200."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[Received] = []
        self.handlers: dict[str, Reply | list[Reply]] = {}

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` here."""
        return self.base_url + path

    def reply(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with ``replies`` in turn, repeating the last one."""
        self.handlers[path] = list(replies)

    def received(self, path: str) -> list[Received]:
        """The requests made to ``path``."""
        return [r for r in self.requests if r.path == path]

    def _next(self, path: str) -> Reply:
        queue = self.handlers.get(path)
        if not queue:
            return Reply()
        assert isinstance(queue, list)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope["query_string"].decode()
        raw = scope.get("raw_path", b"").decode()
        self.requests.append(Received(scope["method"], scope["path"], query, headers, body, raw))
        reply = self._next(scope["path"])
        await asyncio.sleep(reply.delay)
        content = reply.body.encode() if reply.raw else json.dumps(reply.body).encode()
        kind = b"text/plain" if reply.raw else b"application/json"
        out = [(b"content-type", kind), (b"content-length", b"%d" % len(content))]
        out += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": out})
        await send({"type": "http.response.body", "body": content})


async def serve(app: ASGIApp) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve ``app`` on a free local port; returns the server, its task and base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"
