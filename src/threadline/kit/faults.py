"""Crash points for failure tests.

``THREADLINE_CRASH_AT=<name>`` makes the process SIGKILL itself the first time it
reaches ``crash_point(<name>)``: a real kill at an exact place in a flow's life, which
a test can then recover from with a fresh worker. Unset (always, in production) it
costs one set lookup.
"""

from __future__ import annotations

import os
import signal

_ARMED = frozenset(filter(None, os.environ.get("THREADLINE_CRASH_AT", "").split(",")))


def crash_point(name: str) -> None:
    """Die here, by SIGKILL, if this point is armed."""
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
