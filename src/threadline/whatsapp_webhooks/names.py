"""The events a WhatsApp webhook can subscribe to (the reference's names)."""

from __future__ import annotations

from typing import Literal

MESSAGE_RECEIVED = "whatsapp.message.received"
MESSAGE_SENT = "whatsapp.message.sent"
MESSAGE_DELIVERED = "whatsapp.message.delivered"
MESSAGE_READ = "whatsapp.message.read"
MESSAGE_FAILED = "whatsapp.message.failed"
CONVERSATION_CREATED = "whatsapp.conversation.created"
CONVERSATION_ENDED = "whatsapp.conversation.ended"
CONVERSATION_INACTIVE = "whatsapp.conversation.inactive"
EXECUTION_FAILED = "workflow.execution.failed"
EXECUTION_HANDOFF = "workflow.execution.handoff"
AGENT_EXECUTION_STARTED = "agent.execution.started"
AGENT_EXECUTION_ENDED = "agent.execution.ended"
AGENT_EXECUTION_FAILED = "agent.execution.failed"
AGENT_EXECUTION_HANDOFF = "agent.execution.handoff"

EventName = Literal[
    "whatsapp.message.received",
    "whatsapp.message.sent",
    "whatsapp.message.delivered",
    "whatsapp.message.read",
    "whatsapp.message.failed",
    "whatsapp.conversation.created",
    "whatsapp.conversation.ended",
    "whatsapp.conversation.inactive",
    "workflow.execution.failed",
    "workflow.execution.handoff",
    "agent.execution.started",
    "agent.execution.ended",
    "agent.execution.failed",
    "agent.execution.handoff",
]
#: Only received messages can be buffered (the reference: "currently only supports").
BufferableEvent = Literal["whatsapp.message.received"]

#: A message status Meta reports → the event it is.
STATUS_EVENTS = {
    "sent": MESSAGE_SENT,
    "delivered": MESSAGE_DELIVERED,
    "read": MESSAGE_READ,
    "failed": MESSAGE_FAILED,
}
