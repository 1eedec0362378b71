"""Call and permission rows → the API's schemas."""

from __future__ import annotations

from datetime import datetime

from threadline.calls.repository import CallRow, PermissionRow
from threadline.calls.schemas import CallOut, CallPermissionOut


def present_call(row: CallRow) -> CallOut:
    """One call, named by its number."""
    call, config = row
    return CallOut(
        id=call.id,
        project_id=call.project_id,
        whatsapp_config_id=call.whatsapp_config_id,
        config_display_name=config.name,
        config_display_phone_number=config.display_phone_number,
        voice_agent_id=None,
        voice_agent_name=None,
        call_id=call.call_id,
        direction=call.direction,
        status=call.status,
        duration_seconds=call.duration_seconds,
        started_at=call.started_at,
        ended_at=call.ended_at,
        session_started_at=call.session_started_at,
        user_wa_id=call.user_wa_id,
        whatsapp_contact_id=call.whatsapp_contact_id,
        whatsapp_conversation_id=call.whatsapp_conversation_id,
        created_at=call.created_at,
        updated_at=call.updated_at,
    )


def present_permission(row: PermissionRow, now: datetime) -> CallPermissionOut:
    """One permission; ``allowed`` while accepted and not expired."""
    permission, config = row
    live = permission.expires_at is None or permission.expires_at > now
    return CallPermissionOut(
        id=permission.id,
        whatsapp_contact_id=permission.whatsapp_contact_id,
        whatsapp_config_id=permission.whatsapp_config_id,
        config_display_name=config.name,
        status=permission.status,
        source=permission.source,
        expires_at=permission.expires_at,
        last_event_message_id=permission.last_event_message_id,
        last_event_at=permission.last_event_at,
        allowed=permission.status == "accepted" and live,
        created_at=permission.created_at,
        updated_at=permission.updated_at,
    )
