"""Assigning a conversation to one of the project's people, and letting it go.

At most one assignment of a conversation is active: a partial unique index is the rule,
and the conversation's row lock (taken first, as everywhere) makes a second assigner
wait and then see the first. Ending the active assignment releases the conversation: an
execution parked on ``handoff`` goes on (``executions.turns.release_handoff``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversation_assignments import repository
from threadline.conversation_assignments.schemas import AssignmentChange, AssignmentFields
from threadline.conversations import service as conversations
from threadline.errors import NotFound, Unprocessable
from threadline.executions import turns
from threadline.kit.schemas import PageParams
from threadline.models import ConversationAssignment, Project
from threadline.users import service as users


class AssignmentNotFound(NotFound):
    """The conversation has no assignment with that id."""

    error = "Assignment not found"


class AlreadyAssigned(Unprocessable):
    """The conversation is assigned already: end that assignment first."""

    @classmethod
    def of(cls, held: ConversationAssignment) -> AlreadyAssigned:
        """The error naming the active assignment and the two ways out."""
        path = f"/whatsapp_conversations/{held.conversation_id}/conversation_assignments/{held.id}"
        return cls(
            f"the conversation is assigned to user {held.user_id} (assignment {held.id}): "
            f'end it with PATCH {path} {{"conversation_assignment": {{"active": false}}}}, '
            f'or hand it over with {{"conversation_assignment": {{"user_id": "..."}}}}'
        )


async def list_for(
    session: AsyncSession, project: Project, conversation_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[ConversationAssignment], int]:
    """The conversation's assignments, newest first (another project's conversation: 404)."""
    await conversations.get(session, project, conversation_id)
    return await repository.page(session, conversation_id, params)


async def create(
    session: AsyncSession,
    project: Project,
    conversation_id: uuid.UUID,
    fields: AssignmentFields,
    now: datetime,
    *,
    created_by: uuid.UUID | None = None,
) -> ConversationAssignment:
    """Assign the conversation; a parked ``handoff`` stays parked for the person.
    ``created_by`` is the user whose key made the request."""
    conversation = await conversations.lock_for(session, project, conversation_id)
    user = await users.assignable(session, project.id, fields.user_id)
    held = await repository.active(session, conversation.id)
    if held is not None:
        raise AlreadyAssigned.of(held)
    assignment = ConversationAssignment(
        id=uuid.uuid4(), project_id=project.id, conversation_id=conversation.id, user_id=user.id
    )
    assignment.active, assignment.notes = True, fields.notes
    assignment.created_by_user_id = created_by
    assignment.created_at = assignment.updated_at = now
    await _insert(session, assignment)
    return assignment


async def _insert(session: AsyncSession, assignment: ConversationAssignment) -> None:
    try:
        async with session.begin_nested():
            session.add(assignment)
            await session.flush()
    except IntegrityError:  # the index's answer to a writer that bypassed the row lock
        held = await repository.active(session, assignment.conversation_id)
        raise AlreadyAssigned(None if held is None else AlreadyAssigned.of(held).message) from None


async def update(
    session: AsyncSession,
    project: Project,
    conversation_id: uuid.UUID,
    assignment_id: uuid.UUID,
    change: AssignmentChange,
    now: datetime,
) -> ConversationAssignment:
    """Change notes, hand over to another user, or end the assignment (which releases
    the conversation's ``handoff``, if its execution waits on one)."""
    conversation = await conversations.lock_for(session, project, conversation_id)
    assignment = await repository.get(session, conversation.id, assignment_id)
    if assignment is None:
        raise AssignmentNotFound()
    _check_change(assignment, change)
    if change.user_id is not None:
        assignment.user_id = (await users.assignable(session, project.id, change.user_id)).id
    if "notes" in change.model_fields_set:
        assignment.notes = change.notes
    assignment.updated_at = now
    if change.active is False and assignment.active:
        assignment.active, assignment.ended_at = False, now
        await session.flush()
        await turns.release_handoff(session, conversation.id, now)
    await session.flush()
    return assignment


def _check_change(assignment: ConversationAssignment, change: AssignmentChange) -> None:
    """An ended assignment stays ended: only its notes may change."""
    if assignment.active:
        return
    if change.active:
        raise Unprocessable(
            "an ended assignment cannot be made active again: create a new one "
            f"(POST /whatsapp_conversations/{assignment.conversation_id}/conversation_assignments)"
        )
    if change.user_id is not None:
        raise Unprocessable("an ended assignment cannot be handed over: create a new one")
