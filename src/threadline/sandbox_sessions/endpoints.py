"""HTTP routes for sandbox sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.kit.clock import utcnow
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams
from threadline.sandbox_sessions import presenters, service
from threadline.sandbox_sessions.schemas import SandboxSessionCreate, SandboxSessionOut

router = APIRouter(tags=["WhatsApp Sandbox"])


@router.get("/sandbox_sessions", response_model=Page[SandboxSessionOut])
async def list_sandbox_sessions(
    session: DbSession,
    project: CurrentProject,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[SandboxSessionOut]:
    """The project's sandbox sessions, newest first."""
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_sessions(session, project, page=params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.present(row) for row in rows], meta=meta)


@router.post("/sandbox_sessions", status_code=201, response_model=Envelope[SandboxSessionOut])
async def create_sandbox_session(
    body: SandboxSessionCreate, session: DbSession, project: CurrentProject
) -> Envelope[SandboxSessionOut]:
    """Start connecting a test phone: it must send the session's code to the sandbox number."""
    fields = body.whatsapp_sandbox_session
    row = await service.create(
        session, project, phone_number=fields.phone_number, agent_id=fields.agent_id, now=utcnow()
    )
    return Envelope(data=presenters.present(row))


@router.get("/sandbox_sessions/{session_id}", response_model=Envelope[SandboxSessionOut])
async def get_sandbox_session(
    session_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[SandboxSessionOut]:
    """One sandbox session."""
    return Envelope(data=presenters.present(await service.get(session, project, session_id)))
