"""What deleting a WhatsApp config asks of the execution side, through a registered hook.

Imports run one way: ``executions`` imports ``whatsapp_configs``, never the reverse. A
forced delete must stop the config's live executions through the executions domain's
own compare-and-set path, so that path is registered here when the execution job
handlers are imported (``threadline.tasks.load_tasks``, which ``create_app`` calls).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

#: Fail a live execution with an error (``session, execution_id, error, now``); whether it did.
StopExecution = Callable[[AsyncSession, uuid.UUID, dict[str, Any], datetime], Awaitable[bool]]

_registered: list[StopExecution] = []


def register(stop_execution: StopExecution) -> None:
    """Install the execution side's stop path (the last registration wins)."""
    _registered[:] = [stop_execution]


def stop_execution() -> StopExecution:
    """The registered stop path; a forced delete must never skip a live execution."""
    if not _registered:
        raise RuntimeError("no execution stop hook: call threadline.tasks.load_tasks() first")
    return _registered[0]
