"""One TLS context per process, shared by every HTTP client.

Building an ``ssl.SSLContext`` loads the CA bundle: about 30 ms of CPU each time, and
httpx builds one per client (and per transport) unless it is given one. A context is
safe to share between clients; the one that ignores the environment (flow calls, which
must not honour ``SSL_CERT_FILE`` set for someone else) is kept apart.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def shared_ssl_context(*, trust_env: bool = True) -> ssl.SSLContext:
    """The process's TLS context: certifi's CAs, or the environment's when ``trust_env``."""
    return httpx.create_ssl_context(trust_env=trust_env)
