"""Secrets at rest (WhatsApp tokens, function secrets) and API key digests.

Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key from
``THREADLINE_SECRET_KEY`` or, on a laptop, a key file created once in the data dir.
API keys are random 32-byte tokens, so a plain SHA-256 digest is enough to store them.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from threadline.config import Settings

API_KEY_PREFIX = "tl_"


class Cipher:
    """Encrypts and decrypts short secrets."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Cipher:
        """The configured key, or the data dir's key file (created if missing)."""
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(_key_file(settings.data_dir))

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext of ``plaintext`` as text."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext of a value made by :meth:`encrypt`."""
        return self._fernet.decrypt(ciphertext.encode()).decode()


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_bytes().strip()


def new_api_key() -> str:
    """A fresh API key, shown to its owner once."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_digest(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()
