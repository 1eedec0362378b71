"""Errors of the proxy surface, answered in the Graph API's shape.

The proxy is the Graph API's surface, so a client's Graph error handling must work
against it: every error under ``/meta/whatsapp/`` is rendered as
``{"error": {"message", "type", "code", "error_subcode"?, "fbtrace_id"}}``. The HTTP
status is Graph's: 400 for bad input (never 422), 401 for a bad key, 404 for an object
the key cannot see, 5xx for our failures.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from threadline.errors import AppError

#: The URL prefix whose errors are Graph-shaped.
PREFIX = "/meta/whatsapp"


class GraphRefusal(AppError):
    """The request was refused."""

    status_code = 400
    error = "Invalid parameter"
    code: ClassVar[int] = 100
    subcode: ClassVar[int | None] = None
    kind: ClassVar[str] = "OAuthException"


class InvalidParameter(GraphRefusal):
    """A parameter of the request is invalid."""


class UnknownObject(GraphRefusal):
    """The object does not exist or this API key cannot see it."""

    status_code = 404
    subcode = 33
    kind = "GraphMethodException"


class ReEngagement(GraphRefusal):
    """More than 24 hours have passed since the recipient last replied: send a template."""

    error = "Re-engagement message"
    code = 131047


class GraphUpstream(GraphRefusal):
    """The WhatsApp Graph API behind this number failed; try again later."""

    status_code = 502
    error = "Service unavailable"
    code = 131016


class GraphRelay(AppError):
    """The Graph API behind the number refused the request: its answer, passed on as is."""

    def __init__(self, http_status: int, envelope: dict[str, Any]) -> None:
        super().__init__(str(envelope.get("error", {}).get("message", "Graph API error")))
        self.http_status = http_status
        self.envelope = envelope


#: Graph's codes for our generic errors, by HTTP status: (code, type, subcode).
_BY_STATUS: dict[int, tuple[int, str, int | None]] = {
    400: (100, "OAuthException", None),
    401: (190, "OAuthException", None),
    403: (200, "OAuthException", None),
    404: (100, "GraphMethodException", 33),
    405: (100, "GraphMethodException", None),
    409: (100, "OAuthException", None),
    413: (100, "OAuthException", None),
    422: (100, "OAuthException", None),
}


def graph_error(status: int, body: dict[str, Any], error: Exception) -> tuple[int, dict[str, Any]]:
    """Our ``{error, status, message}`` answer as Graph's envelope (a 422 becomes a 400)."""
    if isinstance(error, GraphRelay):
        return error.http_status, error.envelope
    if isinstance(error, GraphRefusal):
        code, kind, subcode = error.code, error.kind, error.subcode
    else:
        code, kind, subcode = _BY_STATUS.get(status, (1, "OAuthException", None))
    message = str(body.get("message") or body.get("error") or "An unknown error occurred")
    envelope: dict[str, Any] = {"message": f"(#{code}) {message}", "type": kind, "code": code}
    if subcode is not None:
        envelope["error_subcode"] = subcode
    if body.get("errors"):
        envelope["error_data"] = {"details": message, "errors": body["errors"]}
    envelope["fbtrace_id"] = secrets.token_urlsafe(12)
    return (400 if status == 422 else status), {"error": envelope}
