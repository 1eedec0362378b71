"""Message rows → the API's ``MessageOut``."""

from __future__ import annotations

from typing import Any

from threadline.models import WhatsappMessage
from threadline.whatsapp_messages.schemas import MessageOut, public_id
from threadline.whatsapp_messages.type_data import MEDIA_TYPES, type_data

API_PREFIX = "/api/v1"


def media_url(message: WhatsappMessage, data: dict[str, Any]) -> str | None:
    """Inbound media through Threadline's proxy; outbound media by the link it was sent with."""
    if message.message_type not in MEDIA_TYPES:
        return None
    if data.get("link"):
        return str(data["link"])
    if message.direction == "inbound" and data.get("media_id"):
        return f"{API_PREFIX}/whatsapp_messages/{public_id(message.id)}/media"
    return None


def processing_status(message: WhatsappMessage) -> str | None:
    """The reference's ``pending | processed``: a message the inbox skips needs nothing more."""
    status = message.processing_status
    return None if status is None else "pending" if status == "pending" else "processed"


def _metadata(message: WhatsappMessage) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if message.processing_status not in (None, "pending", "processed"):
        meta["processing_status"] = message.processing_status
    if message.node_id is not None:
        meta["node_id"] = message.node_id
    if message.meta_timestamp is not None:
        meta["meta_timestamp"] = message.meta_timestamp.isoformat()
    return meta


def present(message: WhatsappMessage) -> MessageOut:
    """One message of either direction."""
    data = type_data(message.payload)
    return MessageOut(
        id=public_id(message.id),
        phone_number=message.phone_number,
        message_type=message.message_type,
        content=message.content or "",
        direction=message.direction,
        status=message.status,
        processing_status=processing_status(message),
        whatsapp_message_id=message.wamid,
        metadata=_metadata(message),
        media_url=media_url(message, data),
        message_type_data=data,
        conversation_id=message.conversation_id,
        whatsapp_config_id=message.whatsapp_config_id,
        execution_id=message.execution_id,
        error=message.last_error,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        read_at=message.read_at,
        created_at=message.created_at,
        updated_at=message.updated_at or message.created_at,
    )
