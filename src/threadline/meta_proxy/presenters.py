"""Threadline's rows in the shapes the Kapso WhatsApp clients read through the proxy.

A message is Meta's message object (``id``, ``type``, ``timestamp``, ``from``/``to``,
``context``, the type's object) plus ``kapso``: Kapso's extra fields, taken from the
v1 messages API's own presenter so the two surfaces never disagree.
"""

from __future__ import annotations

from typing import Any

from threadline.calls import presenters as calls
from threadline.calls.repository import CallRow
from threadline.contacts import presenters as contacts
from threadline.conversations import presenters as conversations
from threadline.models import WhatsappConfig, WhatsappContact, WhatsappConversation, WhatsappMessage
from threadline.whatsapp.phones import wa_id_of
from threadline.whatsapp_messages import presenters as messages
from threadline.whatsapp_messages.schemas import public_id


def message(row: WhatsappMessage, contact_name: str | None) -> dict[str, Any]:
    """One message of either direction, Meta-shaped, with its ``kapso`` extensions."""
    out = messages.present(row)
    moment = row.meta_timestamp or row.created_at
    party = "from" if row.direction == "inbound" else "to"
    record: dict[str, Any] = {
        "id": out.id,
        "type": row.message_type,
        "timestamp": str(int(moment.timestamp())),
        party: _wa_id(row.phone_number),
    }
    payload = row.payload or {}
    if isinstance(payload.get("context"), dict):
        record["context"] = payload["context"]
    if isinstance(payload.get(row.message_type), dict | list):
        record[row.message_type] = payload[row.message_type]
    record["kapso"] = {
        "direction": out.direction,
        "status": out.status,
        "processing_status": out.processing_status,
        "phone_number": out.phone_number,
        "has_media": out.media_url is not None,
        "media_url": out.media_url,
        "whatsapp_message_id": out.whatsapp_message_id,
        "whatsapp_conversation_id": _text(out.conversation_id),
        "contact_name": contact_name,
        "message_type_data": out.message_type_data,
        "content": out.content,
        "error": out.error,
    }
    return record


#: A conversation's message count and latest message, when it has any.
Tally = tuple[int, WhatsappMessage] | None


def conversation(
    row: WhatsappConversation, contact: WhatsappContact, config: WhatsappConfig, tally: Tally
) -> dict[str, Any]:
    """One conversation, with the number it is on and Kapso's extensions."""
    out = conversations.present(row, contact).model_dump(mode="json")
    record: dict[str, Any] = {
        "id": out["id"],
        "phone_number": out["phone_number"],
        "phone_number_id": config.phone_number_id,
        "status": out["status"],
        "last_active_at": out["last_active_at"],
        "created_at": out["created_at"],
        "updated_at": out["updated_at"],
        "metadata": {},
        "kapso": {
            "contact_name": out["contact_name"],
            "contact_id": out["contact_id"],
            "last_inbound_at": out["last_inbound_at"],
            "ended_at": out["ended_at"],
            "ended_reason": out["ended_reason"],
            **_last_message(tally),
        },
    }
    return record


def _last_message(tally: Tally) -> dict[str, Any]:
    if tally is None:
        return {"messages_count": 0}
    count, last = tally
    return {
        "messages_count": count,
        "last_message_id": public_id(last.id),
        "last_message_type": last.message_type,
        "last_message_timestamp": last.created_at.isoformat(),
        "last_message_text": last.content,
    }


def contact(row: WhatsappContact) -> dict[str, Any]:
    """One contact (``display_name`` is its profile name: Threadline keeps one name)."""
    out = contacts.contact(row).model_dump(mode="json")
    return {**out, "display_name": out["profile_name"]}


def call(row: CallRow) -> dict[str, Any]:
    """One call, as the v1 calls API shows it, with ``phone_number_id``."""
    out = calls.present_call(row).model_dump(mode="json")
    return {**out, "phone_number_id": row[1].phone_number_id}


def _wa_id(phone: str) -> str:
    try:
        return wa_id_of(phone)
    except ValueError:
        return phone


def _text(value: object) -> str | None:
    return None if value is None else str(value)
