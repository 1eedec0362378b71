"""Threadline's own async client for the WhatsApp Cloud API."""

from __future__ import annotations

from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import (
    DeliveryNotAttempted,
    DeliveryOutcomeUnknown,
    GraphError,
    PermanentGraphError,
    TransientGraphError,
    WhatsAppError,
)
from threadline.whatsapp.payloads import (
    ListRow,
    ListSection,
    ReplyButton,
    SendResult,
    button_message,
    list_message,
    read_receipt,
    template_message,
    text_message,
)

__all__ = [
    "DeliveryNotAttempted",
    "DeliveryOutcomeUnknown",
    "GraphError",
    "ListRow",
    "ListSection",
    "PermanentGraphError",
    "ReplyButton",
    "SendResult",
    "TransientGraphError",
    "WhatsAppClient",
    "WhatsAppError",
    "button_message",
    "list_message",
    "read_receipt",
    "template_message",
    "text_message",
]
