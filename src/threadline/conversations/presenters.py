"""Conversation rows → the API's ``ConversationOut``."""

from __future__ import annotations

from threadline.conversations.schemas import ConversationOut
from threadline.models import WhatsappContact, WhatsappConversation


def present(conversation: WhatsappConversation, contact: WhatsappContact) -> ConversationOut:
    """One conversation; a contact without a profile name is shown by its number."""
    return ConversationOut(
        id=conversation.id,
        phone_number=conversation.phone_number,
        status=conversation.status,
        last_active_at=conversation.last_active_at,
        contact_name=contact.profile_name or conversation.phone_number,
        whatsapp_config_id=conversation.whatsapp_config_id,
        contact_id=contact.id,
        last_inbound_at=conversation.last_inbound_at,
        ended_at=conversation.ended_at,
        ended_reason=conversation.ended_reason,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )
