"""Assignment rows → the API's ``AssignmentOut``."""

from __future__ import annotations

from threadline.conversation_assignments.schemas import AssignmentOut
from threadline.models import ConversationAssignment


def present(assignment: ConversationAssignment) -> AssignmentOut:
    """One assignment."""
    return AssignmentOut(
        id=assignment.id,
        user_id=assignment.user_id,
        active=assignment.active,
        notes=assignment.notes,
        created_at=assignment.created_at,
        created_by_user_id=assignment.created_by_user_id,
        ended_at=assignment.ended_at,
    )
