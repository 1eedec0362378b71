"""Names shared by the modules that schedule an execution's jobs."""

from __future__ import annotations

import uuid

ADVANCE_TASK = "executions.advance"
TIMEOUT_TASK = "executions.timeout"
CALL_TASK = "executions.call"
#: An agent's model call: the ``call`` job's handler, in the worker's model lane.
MODEL_CALL_TASK = "executions.model_call"


def timer_key(execution_id: uuid.UUID) -> str:
    """Dedupe key of an execution's wait timer."""
    return f"timeout:{execution_id}"
