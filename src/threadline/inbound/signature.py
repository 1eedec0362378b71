"""``X-Hub-Signature-256``: an HMAC-SHA256 of the exact request bytes with the app secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta sends for ``body`` (tests and the sandbox sign with it)."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """Whether ``header`` signs ``body`` with one of ``secrets`` (constant-time compare)."""
    if not header or not header.startswith(PREFIX):
        return False
    given = header[len(PREFIX) :].strip().lower()
    return any(hmac.compare_digest(sign(body, secret)[len(PREFIX) :], given) for secret in secrets)
