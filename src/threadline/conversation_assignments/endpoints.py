"""HTTP routes for a conversation's assignments to the project's people."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from threadline.auth.dependencies import ActingUser, CurrentProject, DbSession
from threadline.conversation_assignments import presenters, service
from threadline.conversation_assignments.schemas import (
    AssignmentCreate,
    AssignmentOut,
    AssignmentUpdate,
)
from threadline.kit import pagination
from threadline.kit.clock import utcnow
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams

router = APIRouter(tags=["Conversation Assignments"])
PATH = "/whatsapp_conversations/{conversation_id}/conversation_assignments"


@router.get(PATH, response_model=Page[AssignmentOut])
async def list_assignments(
    conversation_id: uuid.UUID,
    request: Request,
    response: Response,
    session: DbSession,
    project: CurrentProject,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[AssignmentOut]:
    """The conversation's assignments, newest first (with pagination headers)."""
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_for(session, project, conversation_id, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    pagination.set_headers(response, request.url, meta)
    return Page(data=[presenters.present(row) for row in rows], meta=meta)


@router.post(PATH, response_model=Envelope[AssignmentOut], status_code=201)
async def create_assignment(
    conversation_id: uuid.UUID,
    body: AssignmentCreate,
    session: DbSession,
    project: CurrentProject,
    acting: ActingUser,
) -> Envelope[AssignmentOut]:
    """Assign the conversation to a user (422 if it is assigned already); made by the
    key's user, if the key was issued to one."""
    fields = body.conversation_assignment
    created = await service.create(
        session, project, conversation_id, fields, utcnow(), created_by=acting
    )
    return Envelope(data=presenters.present(created))


@router.patch(PATH + "/{assignment_id}", response_model=Envelope[AssignmentOut])
async def update_assignment(
    conversation_id: uuid.UUID,
    assignment_id: uuid.UUID,
    body: AssignmentUpdate,
    session: DbSession,
    project: CurrentProject,
) -> Envelope[AssignmentOut]:
    """Change notes, hand over, or end the assignment (``active`` false releases a handoff)."""
    change = body.conversation_assignment
    updated = await service.update(
        session, project, conversation_id, assignment_id, change, utcnow()
    )
    return Envelope(data=presenters.present(updated))
