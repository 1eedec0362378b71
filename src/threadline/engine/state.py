"""The engine's vocabulary: the state it reads, the inputs it takes, the outcome it returns.

Everything here is plain data. The engine never touches a database, a clock or the
network: the caller passes ``now`` in and turns the outcome's effects into rows and jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["running", "waiting", "ended", "failed"]
WaitReason = Literal["user_input", "handoff", "call"]
ResumeReason = Literal["api", "user_input", "timeout", "handoff_released"]
#: ``model`` and ``agent_tool`` are an agent's (``executions.agent_runtime``); ``agent`` is
#: a flow's agent node, run by the runtime in the execution itself (never a job).
CallKind = Literal[
    "webhook", "function", "decide", "ai_decide", "ai_fields", "model", "agent_tool", "agent"
]


@dataclass
class RunState:
    """The mutable part of an execution that steps read and change."""

    node_id: str
    phone_number: str
    variables: dict[str, Any]
    context: dict[str, Any]
    system: dict[str, Any]

    def scope(self) -> dict[str, Any]:
        """The names ``{{...}}`` templates can reach."""
        return {
            "vars": self.variables,
            "context": self.context,
            "system": self.system,
            "last_user_input": self.system.get("last_user_input"),
        }


@dataclass(frozen=True)
class Start:
    """Begin at the start node."""


@dataclass(frozen=True)
class Resume:
    """Continue a waiting execution, with what the user (or the API, or a timer) said."""

    reason: ResumeReason
    input: str | None = None
    message: dict[str, Any] | None = None


@dataclass(frozen=True)
class CallResult:
    """The answer of a webhook or function call the engine asked for."""

    ok: bool
    status_code: int | None = None
    body: Any = None
    error: str | None = None


EngineInput = Start | Resume | CallResult


@dataclass(frozen=True)
class SendMessage:
    """Queue one WhatsApp message (a Graph ``/messages`` body) in the outbox."""

    node_id: str
    payload: dict[str, Any]
    whatsapp_config_id: str | None = None


@dataclass(frozen=True)
class HttpCall:
    """Make an HTTP call as a job, then feed its :class:`CallResult` back in."""

    node_id: str
    kind: CallKind
    request: dict[str, Any]


@dataclass(frozen=True)
class LogEvent:
    """One row for the execution's event log."""

    kind: str
    node_id: str | None
    data: dict[str, Any] | None = None
    duration_ms: int | None = None


@dataclass
class Outcome:
    """What the engine decided: the new state, and the effects to carry out."""

    status: Status
    state: RunState
    wait_reason: WaitReason | None = None
    wait_seconds: int | None = None
    sends: list[SendMessage] = field(default_factory=list)
    call: HttpCall | None = None
    events: list[LogEvent] = field(default_factory=list)
    error: dict[str, Any] | None = None
