"""The signature of a delivery, as Kapso's receivers verify it.

``X-Webhook-Signature`` is the hex HMAC-SHA256 of the exact body bytes under the
webhook's ``secret_key`` (Kapso's documented form: the bare hex digest, no prefix).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Webhook-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header value of ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is :func:`sign`'s for ``body`` (constant-time)."""
    return hmac.compare_digest(sign(secret, body), signature)
