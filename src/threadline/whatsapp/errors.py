"""Errors raised by :class:`threadline.whatsapp.client.WhatsAppClient`.

Hierarchy::

    WhatsAppError
    ├── GraphError                  the Graph API answered with an error envelope
    │   ├── TransientGraphError     ...one worth retrying later (5xx, 429, throttling codes)
    │   └── PermanentGraphError     ...one that will fail again if resent unchanged
    ├── DeliveryNotAttempted        the request certainly never reached Meta; safe to retry
    └── DeliveryOutcomeUnknown      Meta may have accepted the request; do not blindly resend
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

_ERROR_TEXT_MAX = 500


class WhatsAppError(Exception):
    """Root of every error raised by the WhatsApp client."""


class GraphError(WhatsAppError):
    """The Graph API rejected a request and said why in its error envelope.

    ``code`` and ``details`` (``error_data.details``) are what Meta recommends branching
    on; ``subcode`` is deprecated by Meta but still sent for token and throttling errors.
    ``code`` is ``None`` when the body was not a Graph envelope (a proxy's HTML page, say).
    """

    RETRYABLE_CODES: ClassVar[frozenset[int]] = frozenset(
        {2, 4, 80007, 130429, 131000, 131016, 131056}
    )

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        code: int | None = None,
        subcode: int | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
        error_type: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.error_type = error_type
        self.body = body
        self.retryable = self.is_retryable(http_status, code)

    def __str__(self) -> str:
        text = f"HTTP {self.http_status}, code {self.code}: {self.message}"
        return f"{text} ({self.details})" if self.details else text

    @classmethod
    def is_retryable(cls, http_status: int, code: int | None) -> bool:
        """Whether an error with this HTTP status and Graph code is worth retrying."""
        return http_status >= 500 or http_status == 429 or code in cls.RETRYABLE_CODES

    @classmethod
    def from_response(cls, status: int, body: bytes | str | Mapping[str, Any] | None) -> GraphError:
        """Build a :class:`TransientGraphError` or :class:`PermanentGraphError` from a response.

        ``body`` may be raw bytes, text or an already decoded mapping. Bodies that are not a
        Graph envelope still yield an error carrying the HTTP status and a text excerpt.
        """
        parsed = _decode(body)
        envelope = parsed.get("error") if isinstance(parsed, Mapping) else None
        fields = _envelope_fields(envelope) if isinstance(envelope, Mapping) else {}
        if "message" not in fields:
            fields["message"] = _fallback_message(status, body)
        code = fields.get("code")
        kind = TransientGraphError if cls.is_retryable(status, code) else PermanentGraphError
        return kind(http_status=status, body=parsed, **fields)


class TransientGraphError(GraphError):
    """A Graph error that may succeed if the same request is sent again later."""


class PermanentGraphError(GraphError):
    """A Graph error that will recur until the request (or the account) is fixed."""


class DeliveryNotAttempted(WhatsAppError):
    """The request never reached the Graph API (connection refused, pool exhausted...).

    Nothing was sent, so retrying cannot produce a duplicate message.
    """


class DeliveryOutcomeUnknown(WhatsAppError):
    """The request may have reached the Graph API, but no usable answer came back.

    Meta may already have accepted the message. Resending risks a duplicate, so callers
    must reconcile (for example through status webhooks) before deciding to resend.
    """


def _decode(body: bytes | str | Mapping[str, Any] | None) -> Any:
    if body is None or isinstance(body, Mapping):
        return body
    try:
        return json.loads(body)
    except ValueError:
        return None


def _envelope_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    error_data = envelope.get("error_data")
    details = error_data.get("details") if isinstance(error_data, Mapping) else error_data
    fields: dict[str, Any] = {
        "code": _as_int(envelope.get("code")),
        "subcode": _as_int(envelope.get("error_subcode")),
        "details": None if details is None else str(details),
        "fbtrace_id": _as_str(envelope.get("fbtrace_id")),
        "error_type": _as_str(envelope.get("type")),
    }
    message = _as_str(envelope.get("message"))
    if message:
        fields["message"] = message
    return fields


def _fallback_message(status: int, body: bytes | str | Mapping[str, Any] | None) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    text = body.strip() if isinstance(body, str) else ""
    return text[:_ERROR_TEXT_MAX] if text else f"HTTP {status} without a Graph error body"


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
