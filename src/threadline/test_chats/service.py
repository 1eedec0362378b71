"""Agent test chats: the agent's runtime in test mode, its messages kept, none sent.

A test chat is an agent execution with ``test`` set: the same interpreter, jobs, model
calls and tools as on WhatsApp, pinned to a version the same way (or to the snapshot
it was started from), but what the agent says stays in its transcript. Each message
continues the chat through the same compare-and-set as any resume: the chat must be
waiting for the user (``completed``), never while it is still ``processing``.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agent_executions import service as agent_executions
from threadline.agents import repository as agents
from threadline.engine.state import Resume, ResumeReason, Start
from threadline.errors import BadRequest, NotFound
from threadline.executions import repository as executions
from threadline.executions.runtime import resume_claimed, run_engine
from threadline.kit.clock import utcnow
from threadline.models import Agent, FlowExecution, Project
from threadline.test_chats import repository
from threadline.test_chats.schemas import TestChatCreate, TestChatResumeIn

#: What a test chat's execution has for a phone number: it talks to no one on WhatsApp.
TEST_PHONE = "test-chat"


class TestChatNotFound(NotFound):
    """The test chat does not exist in this project."""

    error = "Test chat not found"


class SnapshotNotFound(NotFound):
    """The agent snapshot does not exist in this project."""

    error = "Agent snapshot not found"


class ChatBusy(BadRequest):
    """The test chat is not waiting for a message: wait until its status is ``completed``
    (GET /test_chats/{id}); a chat that ended or failed cannot go on, start a new one."""

    error = "Test chat cannot take a message now"


async def start_for_agent(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, data: TestChatCreate
) -> FlowExecution:
    """Start a test chat with the agent as it is now (or continue the one named)."""
    agent = await agent_executions.agent_of(session, project, agent_id)
    if data.agent_test_chat_id is not None:
        return await _continue(session, project, data.agent_test_chat_id, data.message, agent.id)
    snapshot_id = await agent_executions.pin_version(session, agent, utcnow())
    return await _start(session, agent, snapshot_id, data.message)


async def start_for_snapshot(
    session: AsyncSession, project: Project, snapshot_id: uuid.UUID, data: TestChatCreate
) -> FlowExecution:
    """Start a test chat with one snapshot of an agent (or continue the one named)."""
    snapshot = await agents.get_snapshot(session, project.id, snapshot_id)
    if snapshot is None:
        raise SnapshotNotFound()
    if data.agent_test_chat_id is not None:
        return await _continue(
            session, project, data.agent_test_chat_id, data.message, snapshot.agent_id
        )
    agent = await agent_executions.agent_of(session, project, snapshot.agent_id)
    return await _start(session, agent, snapshot.id, data.message)


async def _start(
    session: AsyncSession, agent: Agent, snapshot_id: uuid.UUID, text: str
) -> FlowExecution:
    now = utcnow()
    execution = agent_executions.new_execution(
        agent, snapshot_id, phone_number=TEST_PHONE, text=text, now=now, test=True
    )
    executions.add(session, execution)
    await run_engine(session, execution, Start(), now)
    await session.flush()
    return execution


async def get(session: AsyncSession, project: Project, chat_id: uuid.UUID) -> FlowExecution:
    """One test chat of the project, or :class:`TestChatNotFound`."""
    chat = await repository.get(session, project.id, chat_id)
    if chat is None:
        raise TestChatNotFound()
    return chat


async def _continue(
    session: AsyncSession,
    project: Project,
    chat_id: uuid.UUID,
    text: str | None,
    agent_id: uuid.UUID | None,
    *,
    reason: ResumeReason = "user_input",
) -> FlowExecution:
    chat = await get(session, project, chat_id)
    if agent_id is not None and chat.agent_id != agent_id:
        raise TestChatNotFound()
    now = utcnow()
    reasons = ("user_input",) if reason == "user_input" else ("user_input", "handoff")
    claimed = await executions.claim_waiting(
        session, chat.id, reasons=reasons, now=now, project_id=project.id
    )
    if claimed is None:
        raise ChatBusy()
    await resume_claimed(session, claimed, Resume(reason=reason, input=text), now)
    await session.flush()
    return claimed


async def resume(
    session: AsyncSession, project: Project, chat_id: uuid.UUID, data: TestChatResumeIn
) -> FlowExecution:
    """Resume a waiting test chat with a payload (external data, a person's answer)."""
    text = data.message.text if data.message else None
    return await _continue(session, project, chat_id, text, None, reason="api")
