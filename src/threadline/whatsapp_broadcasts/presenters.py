"""Broadcast and recipient rows → the API's schemas."""

from __future__ import annotations

from typing import Any

from threadline.models import WhatsappBroadcast, WhatsappMessage, WhatsappTemplate
from threadline.models import WhatsappBroadcastRecipient as Recipient
from threadline.whatsapp_broadcasts.repository import DELIVERED, READ, SENT, Counts
from threadline.whatsapp_broadcasts.schemas import (
    BasicTemplateOut,
    BroadcastOut,
    RecipientOut,
    StatsOut,
)
from threadline.whatsapp_messages.schemas import public_id

#: What a template's status is called in ``BasicWhatsappTemplate`` (approved, pending, rejected).
_TEMPLATE_STATUS = {"approved": "approved", "rejected": "rejected"}


def template(row: WhatsappTemplate) -> BasicTemplateOut:
    """The template a broadcast sends, as the reference sums it up."""
    return BasicTemplateOut(
        id=row.id,
        name=row.name,
        language_code=row.language_code,
        category=row.category,
        status=_TEMPLATE_STATUS.get(row.status, "pending"),
    )


def broadcast(
    row: WhatsappBroadcast, template_row: WhatsappTemplate, counts: Counts, default_rate: float
) -> BroadcastOut:
    """A broadcast with its counts and response rate (replies per sent message, in %)."""
    rate = 0.0 if not counts.sent else round(100 * counts.responded / counts.sent, 1)
    stats = StatsOut(
        total=row.total_recipients,
        sent=counts.sent,
        failed=counts.failed,
        delivered=counts.delivered,
        read=counts.read,
        responded=counts.responded,
        pending=counts.pending,
    )
    return BroadcastOut(
        id=row.id,
        name=row.name,
        status=row.status,
        started_at=row.started_at,
        completed_at=row.completed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        whatsapp_config_id=row.whatsapp_config_id,
        whatsapp_template=template(template_row),
        total_recipients=stats.total,
        sent_count=stats.sent,
        failed_count=stats.failed,
        delivered_count=stats.delivered,
        read_count=stats.read,
        responded_count=stats.responded,
        pending_count=stats.pending,
        response_rate=rate,
        stats=stats,
        rate_per_second=default_rate if row.rate_per_second is None else row.rate_per_second,
    )


def recipient(row: Recipient, message: WhatsappMessage | None) -> RecipientOut:
    """A recipient, its delivery as its message stands."""
    status, error = _status(row, message)
    return RecipientOut(
        id=row.id,
        phone_number=row.phone_number,
        status=status,
        sent_at=message.sent_at if message and message.status in SENT else None,
        failed_at=row.failed_at or (message.updated_at if status == "failed" and message else None),
        delivered_at=message.delivered_at if message and message.status in DELIVERED else None,
        read_at=message.read_at if message and message.status in READ else None,
        responded_at=row.responded_at,
        error_message=None if error is None else str(error.get("message") or error.get("title")),
        error_details=None if error is None else _details(error),
        template_parameters=row.template_parameters,
        created_at=row.created_at,
        updated_at=max(row.updated_at, (message.updated_at if message else None) or row.updated_at),
        whatsapp_message_id=None if row.message_id is None else public_id(row.message_id),
    )


def _status(row: Recipient, message: WhatsappMessage | None) -> tuple[str, dict[str, Any] | None]:
    if row.failed_at is not None:
        return "failed", row.error or {}
    if row.message_id is not None and message is None:
        return "failed", {"message": "the message was deleted before it was sent"}
    if message is None or message.status not in (*SENT, "failed"):
        return "pending", None
    if message.status == "failed":
        return "failed", message.last_error or {}
    return "sent", None


def _details(error: dict[str, Any]) -> dict[str, Any]:
    return {
        key: str(value) for key, value in error.items() if key != "message" and value is not None
    }
