"""Refuse request bodies over a size limit before they are read into memory."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised inside the receive wrapper when a streamed body passes the limit."""


class BodyLimitMiddleware:
    """ASGI middleware answering 413 for bodies larger than ``max_bytes``.

    ``per_prefix`` raises (or lowers) the limit for paths under a prefix: Meta's webhook
    deliveries may be up to 3 MB, far more than any API request needs.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, per_prefix: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_prefix = per_prefix or {}

    def limit_for(self, path: str) -> int:
        """The byte limit of a request to ``path``."""
        for prefix, limit in self.per_prefix.items():
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        exceeded = started = rejected = False

        def on_exceeded() -> None:
            nonlocal exceeded
            exceeded = True

        async def guarded_send(message: Message) -> None:
            # The framework may turn BodyTooLarge into an error response of its own (FastAPI
            # answers 400): once the limit was passed, a response not yet begun becomes 413.
            nonlocal started, rejected
            if started or not exceeded:
                started = True
                await send(message)
            elif not rejected:
                rejected = True
                await self._reject(send, limit)

        try:
            await self.app(scope, self._counting(receive, limit, on_exceeded), guarded_send)
        except BodyTooLarge:
            if not started and not rejected:
                await self._reject(send, limit)

    def _counting(self, receive: Receive, limit: int, on_exceeded: Callable[[], None]) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                on_exceeded()
                raise BodyTooLarge()
            return message

        return wrapped

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "error": "Payload too large",
                "status": 413,
                "message": f"The request body exceeds {limit} bytes",
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
