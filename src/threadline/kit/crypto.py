"""Secrets at rest (WhatsApp tokens, function secrets) and API key digests.

Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key from
``THREADLINE_SECRET_KEY`` or, on a laptop (SQLite), a key file created once in the data
dir. On PostgreSQL several hosts share one database, and a key file of each host's own
could not read what another host encrypted: there the key must be given explicitly.
API keys are random 32-byte tokens, so a plain SHA-256 digest is enough to store them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from threadline.config import Settings

API_KEY_PREFIX = "tl_"
KEY_FILE_NAME = "secret.key"


class SecretKeyMissing(Exception):
    """THREADLINE_SECRET_KEY is not set, and this database needs an explicit one."""

    def __init__(self) -> None:
        super().__init__(
            "THREADLINE_SECRET_KEY is not set. On PostgreSQL every server and worker must "
            "share one explicit key (a key file of each host's own could not decrypt what "
            "another host stored). Make one with `threadline secret-key` (or python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"), '
            "keep it safe, and set THREADLINE_SECRET_KEY to it on every host."
        )


def require_secret_key(settings: Settings) -> None:
    """Raise :class:`SecretKeyMissing` where a per-host key file would be wrong."""
    backend = make_url(settings.resolved_database_url()).get_backend_name()
    if not settings.secret_key and backend != "sqlite":
        raise SecretKeyMissing()


def key_source(settings: Settings) -> str:
    """Where the secret key comes from, for a start line."""
    if settings.secret_key:
        return "THREADLINE_SECRET_KEY"
    return f"key file {settings.data_dir / KEY_FILE_NAME}"


class Cipher:
    """Encrypts and decrypts short secrets."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Cipher:
        """The configured key, or the data dir's key file (created if missing)."""
        require_secret_key(settings)
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(_key_file(settings.data_dir))

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext of ``plaintext`` as text."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str, *, ttl: int | None = None) -> str:
        """The plaintext of a value made by :meth:`encrypt` (at most ``ttl`` seconds ago,
        if given: the token is then also a short-lived capability)."""
        return self._fernet.decrypt(ciphertext.encode(), ttl=ttl).decode()


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _create_once(path)
    return path.read_bytes().strip()


def _create_once(path: Path) -> None:
    """Write a new key to ``path`` unless another process got there first.

    The key is written whole to a private temporary file, then hard-linked into
    place: the link fails if ``path`` exists, so every process reads the one winner.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret.key.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(Fernet.generate_key())
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def new_secret_key() -> str:
    """A fresh Fernet key for ``THREADLINE_SECRET_KEY``."""
    return Fernet.generate_key().decode()


def new_api_key() -> str:
    """A fresh API key, shown to its owner once."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_digest(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()
