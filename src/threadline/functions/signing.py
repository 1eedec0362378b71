"""HMAC-SHA256 signatures on calls to a project's functions.

The receiver recomputes ``hex(hmac_sha256(secret, f"{timestamp}.{raw_body}"))`` and
compares it to ``X-Threadline-Signature`` (``sha256=<hex>``); the timestamp in
``X-Threadline-Timestamp`` lets it refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Threadline-Signature"
TIMESTAMP_HEADER = "X-Threadline-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is the one :func:`sign` gives (constant-time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
