"""Display name request rows → the API's schema."""

from __future__ import annotations

from threadline.models import WhatsappDisplayNameRequest
from threadline.whatsapp_display_names.schemas import DisplayNameRequestOut


def present(row: WhatsappDisplayNameRequest) -> DisplayNameRequestOut:
    """One request as the reference shows it."""
    return DisplayNameRequestOut(
        id=row.id,
        whatsapp_config_id=row.whatsapp_config_id,
        requested_display_name=row.requested_display_name,
        previous_display_name=row.previous_display_name,
        status=row.status,
        meta_error_code=row.meta_error_code,
        meta_error_subcode=row.meta_error_subcode,
        meta_error_type=row.meta_error_type,
        meta_error_message=row.meta_error_message,
        submitted_at=row.submitted_at,
        reviewed_at=row.reviewed_at,
        applied_at=row.applied_at,
        rejection_reason=row.rejection_reason,
    )
