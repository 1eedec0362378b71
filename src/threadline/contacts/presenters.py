"""Contact and note rows as the API shows them."""

from __future__ import annotations

from threadline.contacts.schemas import ContactOut, NoteOut
from threadline.models import WhatsappContact, WhatsappContactNote


def contact(row: WhatsappContact) -> ContactOut:
    """A contact; a profile name not known yet is ``""`` (the reference's is never null)."""
    return ContactOut(
        id=row.id,
        wa_id=row.wa_id,
        profile_name=row.profile_name or "",
        customer_id=row.customer_id,
        metadata=row.meta,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def note(row: WhatsappContactNote) -> NoteOut:
    """A note."""
    return NoteOut(
        id=row.id,
        name=row.name,
        content=row.content,
        metadata=row.meta,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
