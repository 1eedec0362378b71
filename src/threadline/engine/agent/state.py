"""The agent interpreter's vocabulary: its state, the inputs it takes, the outcome it returns.

Plain data, like the flow engine's (``engine/state.py``), whose :class:`SendMessage` and
:class:`LogEvent` it shares: messages an agent sends go through the same outbox and its
events into the same log. A model call and an external tool call are effects: the
runtime runs each as a job and feeds the answer back in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from threadline.engine.state import LogEvent, SendMessage
from threadline.llm.types import ChatMessage, ModelReply, ToolCall

AgentStatus = Literal["running", "paused", "handoff", "ended", "failed"]


@dataclass
class AgentState:
    """The mutable part of an agent execution.

    ``history`` is the model's transcript; ``conversation`` what the user saw
    (``{role, content}``). ``pending`` holds the tool calls of the model's last answer
    not answered yet, first to run first; ``waiting_on`` the id of the interrupt tool
    call (``AskUserForInput``...) whose answer is the user's next message.
    """

    node: str
    history: list[ChatMessage] = field(default_factory=list)
    conversation: list[dict[str, str]] = field(default_factory=list)
    pending: list[ToolCall] = field(default_factory=list)
    waiting_on: str | None = None
    #: Inside a global node entered from another: where "return" goes.
    returns_to: str | None = None
    model_calls_in_turn: int = 0
    handoff_reason: str | None = None
    #: What ``get_execution_metadata`` returns and the system prompt shows.
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentStart:
    """Begin at the start node, with the user's first message(s) when there are any."""

    text: str | None = None


@dataclass(frozen=True)
class UserMessage:
    """The user wrote (several messages of a burst arrive joined by newlines)."""

    text: str


@dataclass(frozen=True)
class ModelAnswered:
    """The model call the interpreter asked for returned."""

    reply: ModelReply
    duration_ms: int | None = None


@dataclass(frozen=True)
class ModelFailed:
    """The model call failed for good (its retries are spent, or it was refused)."""

    error: str


@dataclass(frozen=True)
class ToolFinished:
    """An external tool call's result: ``content`` for the model, or ``error``."""

    call_id: str
    content: Any = None
    error: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class TimerFired:
    """A warm end's grace period ran out without the user writing."""


@dataclass(frozen=True)
class HandoffReleased:
    """The people who took the conversation over gave it back."""


AgentInput = (
    AgentStart
    | UserMessage
    | ModelAnswered
    | ModelFailed
    | ToolFinished
    | TimerFired
    | HandoffReleased
)


@dataclass(frozen=True)
class ToolRequest:
    """Run one external tool as a job, then feed back its :class:`ToolFinished`."""

    call_id: str
    name: str
    kind: str
    node: str
    arguments: dict[str, Any]
    config: dict[str, Any]


@dataclass
class AgentOutcome:
    """What the interpreter decided: the new state and the effects to carry out.

    At most one of ``call_model`` and ``tool`` is set, and only while ``running``.
    ``wait_minutes`` arms the warm end's timer.
    """

    status: AgentStatus
    state: AgentState
    call_model: bool = False
    tool: ToolRequest | None = None
    sends: list[SendMessage] = field(default_factory=list)
    events: list[LogEvent] = field(default_factory=list)
    wait_minutes: int | None = None
    error: dict[str, Any] | None = None
