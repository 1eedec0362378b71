"""What a node handler returns, and the context it runs in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.engine.state import HttpCall, LogEvent, RunState, SendMessage, WaitReason
from threadline.engine.template import render, render_value
from threadline.flows.definition import FlowDefinition, FlowNode


@dataclass(frozen=True)
class Next:
    """Leave the node along the edge labelled ``label``."""

    label: str = "next"


@dataclass(frozen=True)
class Park:
    """Stop here until an input arrives (a resume, a timer or a call result)."""

    wait_reason: WaitReason
    wait_seconds: int | None = None
    call: HttpCall | None = None


@dataclass(frozen=True)
class Fail:
    """End the execution as failed."""

    message: str
    data: dict[str, Any] | None = None


Step = Next | Park | Fail


@dataclass
class StepContext:
    """A node's view of the run: its config, the state, and where effects go."""

    definition: FlowDefinition
    node: FlowNode
    state: RunState
    now: datetime
    sends: list[SendMessage] = field(default_factory=list)
    events: list[LogEvent] = field(default_factory=list)

    def send(self, payload: dict[str, Any], *, whatsapp_config_id: str | None = None) -> None:
        """Queue a message and log that it was queued."""
        self.sends.append(SendMessage(self.node.id, payload, whatsapp_config_id))
        self.log("message_queued", {"type": payload.get("type")})

    def log(self, kind: str, data: dict[str, Any] | None = None) -> None:
        """Append an event about this node."""
        self.events.append(LogEvent(kind, self.node.id, data))

    def render(self, text: str) -> str:
        """Interpolate ``{{...}}`` in ``text`` with the run's scope."""

        return render(text, self.state.scope())

    def render_value(self, value: Any) -> Any:
        """Interpolate every string inside ``value``, keeping single-reference types."""

        return render_value(value, self.state.scope())

    def has_edge(self, label: str) -> bool:
        """Whether this node has an outgoing edge labelled ``label``."""
        return self.definition.next_node_id(self.node.id, label) is not None
