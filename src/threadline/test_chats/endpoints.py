"""HTTP routes for agent test chats."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.kit.schemas import Envelope
from threadline.test_chats import presenters, service
from threadline.test_chats.schemas import TestChatCreate, TestChatOut, TestChatResumeIn

router = APIRouter(tags=["Agent Test Chats"])


@router.post("/agents/{agent_id}/test_chats", status_code=201, response_model=Envelope[TestChatOut])
async def create_test_chat(
    agent_id: uuid.UUID, body: TestChatCreate, session: DbSession, project: CurrentProject
) -> Envelope[TestChatOut]:
    """Talk to the agent without WhatsApp; poll the chat until it is ``completed``."""
    chat = await service.start_for_agent(session, project, agent_id, body)
    return Envelope(data=presenters.chat_out(chat))


@router.post(
    "/agent_snapshots/{agent_snapshot_id}/test_chats",
    status_code=201,
    response_model=Envelope[TestChatOut],
)
async def create_snapshot_test_chat(
    agent_snapshot_id: uuid.UUID, body: TestChatCreate, session: DbSession, project: CurrentProject
) -> Envelope[TestChatOut]:
    """Talk to one snapshot of the agent without WhatsApp."""
    chat = await service.start_for_snapshot(session, project, agent_snapshot_id, body)
    return Envelope(data=presenters.chat_out(chat))


@router.get("/test_chats/{chat_id}", response_model=Envelope[TestChatOut])
async def get_test_chat(
    chat_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[TestChatOut]:
    """A test chat, its conversation and status."""
    return Envelope(data=presenters.chat_out(await service.get(session, project, chat_id)))


@router.post("/test_chats/{chat_id}/resume", response_model=Envelope[TestChatOut])
async def resume_test_chat(
    chat_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    body: TestChatResumeIn | None = None,
) -> Envelope[TestChatOut]:
    """Resume a waiting test chat with a payload."""
    chat = await service.resume(session, project, chat_id, body or TestChatResumeIn())
    return Envelope(data=presenters.chat_out(chat))
