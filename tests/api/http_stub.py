"""A tiny real HTTP server for webhook and function nodes to call.

It records every request and answers from handlers registered per path; a path without
a handler answers ``200 {"ok": true}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope, Send

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
"""An HTTP status and the JSON body to answer with (and, optionally, extra headers)."""

Handler = Callable[["ReceivedRequest"], Reply]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the stub received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpStub:
    """An ASGI app that records requests and replies as told."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[ReceivedRequest] = []
        self._handlers: dict[str, Handler] = {}

    def reset(self) -> None:
        """Forget requests and handlers."""
        self.requests = []
        self._handlers = {}

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def on(self, path: str, handler: Handler) -> None:
        """Answer requests to ``path`` with ``handler``."""
        self._handlers[path] = handler

    def replies(self, path: str, *replies: Reply) -> None:
        """Answer requests to ``path`` with ``replies`` in turn, repeating the last one."""
        queue = list(replies)

        def handler(_request: ReceivedRequest) -> Reply:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.on(path, handler)

    def received(self, path: str) -> list[ReceivedRequest]:
        """The requests made to ``path``, in order."""
        return [request for request in self.requests if request.path == path]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = ReceivedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            raw_path=scope.get("raw_path", b"").decode(),
        )
        self.requests.append(request)
        handler = self._handlers.get(request.path, lambda _r: (200, {"ok": True}))
        status, payload, *extra = handler(request)
        content = json.dumps(payload).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(content)),
        ]
        for more in extra:
            headers += [(k.lower().encode(), v.encode()) for k, v in more.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
