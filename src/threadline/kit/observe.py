"""One pure-ASGI middleware that writes the access log line and the HTTP metrics.

Pure ASGI rather than ``BaseHTTPMiddleware``: it wraps ``send`` to read the status and
adds no task or stream per request on the hot path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.kit.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("threadline.access")

#: The route label of a request no route matched (keeps the label set small).
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str | None:
    """``/api/v1/flows/{flow_id}`` for a request a route matched, else None.

    Built from the path and the matched path parameters (each value's segments become
    ``{name}``), so it holds for mounted apps and whatever way the router nests routes.
    """
    route = scope.get("route")
    if route is None or isinstance(route, Mount):
        if "endpoint" not in scope:
            return None  # no route matched
        # A mounted app without routes of its own (static files): one label for all.
        mount_path = str(scope.get("root_path", ""))[len(scope.get("app_root_path", "")) :]
        return mount_path + "/{path}"
    segments = str(scope["path"]).split("/")
    for name, value in scope.get("path_params", {}).items():
        parts = str(value).split("/")
        for start in range(len(segments) - len(parts), 0, -1):
            if segments[start : start + len(parts)] == parts and parts != [""]:
                segments[start : start + len(parts)] = ["{" + name + "}"]
                break
    return "/".join(segments)


class ObserveMiddleware:
    """Logs ``request method=... path=... status=... duration_ms=...`` and counts it.

    The line is INFO, or ERROR for a 5xx (a 500 is a bug; the traceback is logged by the
    error handler).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Shared with the request (``request.state``), so auth can name the project.
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._record(scope, state, status, time.perf_counter() - started)

    def _record(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        method = scope["method"]
        template = route_template(scope)
        route = template or UNMATCHED
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_DURATION.labels(method, route).observe(seconds)
        extra: dict[str, Any] = {
            "method": method,
            "path": template or scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        project_id = state.get("project_id")
        if project_id is not None:
            extra["project_id"] = str(project_id)
        log.log(logging.ERROR if status >= 500 else logging.INFO, "request", extra=extra)
