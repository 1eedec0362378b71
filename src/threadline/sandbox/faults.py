"""Graph API error envelopes as the sandbox renders them."""

from __future__ import annotations

import secrets
from typing import Any

TITLES: dict[int, str] = {
    100: "Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131051: "Message type unknown",
    131052: "Media download error",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
}


class GraphFault(Exception):
    """An error the sandbox answers with, rendered as a Graph error envelope."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        http_status: int = 400,
        title: str | None = None,
        error_type: str = "OAuthException",
        subcode: int | None = None,
        numbered: bool = True,
    ) -> None:
        self.code = code
        self.numbered = numbered
        self.details = details
        self.http_status = http_status
        self.title = title or TITLES.get(code, "Unknown error")
        self.error_type = error_type
        self.subcode = subcode
        super().__init__(f"({code}) {self.title}: {details}")

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"error": {message, type, code, [error_data], ..., fbtrace_id}}``."""
        numbered = self.numbered and not self.title.startswith("(#")
        error: dict[str, Any] = {
            "message": f"(#{self.code}) {self.title}" if numbered else self.title,
            "type": self.error_type,
            "code": self.code,
        }
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


def fbtrace_id() -> str:
    """A random trace id shaped like Meta's."""
    return "A" + secrets.token_urlsafe(16)


def invalid_parameter(details: str) -> GraphFault:
    """Code 100: a missing, misspelt or wrongly typed field."""
    return GraphFault(100, details)


def invalid_value(details: str) -> GraphFault:
    """Code 131009: a field is present but its value breaks a limit."""
    return GraphFault(131009, details)


def unknown_object(object_id: str, method: str) -> GraphFault:
    """Code 100 / subcode 33: the path names an object this sandbox does not have."""
    return GraphFault(
        100,
        title=(
            f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation"
        ),
        error_type="GraphMethodException",
        subcode=33,
        numbered=False,
    )


def invalid_token() -> GraphFault:
    """Code 190, HTTP 401: the Bearer token is missing or not the sandbox's."""
    return GraphFault(190, http_status=401, numbered=False)


def not_implemented_body(method: str, path: str) -> dict[str, Any]:
    """The loud 501 body for routes the sandbox does not emulate."""
    return {
        "error": {
            "message": f"Not implemented in the Threadline sandbox: {method} {path}",
            "type": "NotImplemented",
            "code": 501,
        }
    }
