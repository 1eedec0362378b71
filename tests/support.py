"""Small helpers shared by test modules (conftest files cannot be imported reliably)."""

from __future__ import annotations

import socket

from cryptography.fernet import Fernet

#: The Fernet key of every test process, so subprocesses can read what tests encrypt.
SECRET_KEY = Fernet.generate_key().decode()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
