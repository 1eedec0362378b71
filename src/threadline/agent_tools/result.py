"""What an external tool answers, and the errors a job may retry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's answer to the model: ``content`` is what it reads, ``is_error`` when the
    tool failed (the message says how, so the model can change its arguments or tell
    the user). ``details`` goes to the event log, never to the model."""

    content: str
    is_error: bool = False
    status_code: int | None = None
    duration_ms: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class ToolError(Exception):
    """A tool could not run at all (its server is misconfigured or refused)."""

    retryable: bool = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, result: ToolResult | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: What to feed back to the model once the job gives up retrying.
        self.result = result or ToolResult(content=message, is_error=True)


class ToolRetryable(ToolError):
    """A transient failure (network, timeout, 429, 5xx) of a call that is safe to repeat:
    the job should run it again (after ``retry_after`` seconds, when the server said)."""

    retryable = True


def elapsed_ms(started: float, now: float) -> int:
    """Whole milliseconds between two ``time.monotonic()`` readings."""
    return max(0, round((now - started) * 1000))
