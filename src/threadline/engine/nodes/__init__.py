"""One module per node type; :data:`HANDLERS` maps ``node_type`` to its handler."""

from __future__ import annotations

from threadline.engine.nodes import agent, calls, control, messages, wait
from threadline.engine.nodes.base import NodeHandler

HANDLERS: dict[str, NodeHandler] = {
    "start": control.START,
    "set_variable": control.SET_VARIABLE,
    "handoff": control.HANDOFF,
    "send_text": messages.SEND_TEXT,
    "send_interactive": messages.SEND_INTERACTIVE,
    "send_template": messages.SEND_TEMPLATE,
    "wait_for_response": wait.WAIT_FOR_RESPONSE,
    "webhook": calls.WEBHOOK,
    "function": calls.FUNCTION,
    "decide": calls.DECIDE,
    "agent": agent.AGENT,
}

__all__ = ["HANDLERS", "NodeHandler"]
