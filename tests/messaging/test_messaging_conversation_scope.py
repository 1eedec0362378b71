"""Deliveries scoped to a conversation: the flow's and the API's messages leave in one line.

The interleaving tests are issue 5's lost-message race, for the conversation scope: a
delivery job is queued (so a queuer's enqueue is a no-op), a queuer's transaction is held
open with a new message while a worker claims the job and decides whether anything is
left, then the queuer commits. PostgreSQL only: on SQLite a worker cannot run while a
write transaction is open.

Without the deliverer's locks both interleaving tests lose the late message (checked by
removing them). On PostgreSQL the conversation's lock alone already waits for a flow
step, because inserting a message takes a KEY SHARE lock on the conversation it names;
locking the conversation's active executions as well keeps the rule independent of that.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from builders import (
    TestConversation,
    TestProject,
    ask_and_reply,
    chain,
    create_active_flow,
    create_project,
    node,
    open_conversation,
    resume,
    run_jobs,
    send_api_message,
    start_execution,
)
from threadline.conversations import repository as conversations
from threadline.engine.state import SendMessage
from threadline.executions import repository as executions
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.messaging.service import (
    DELIVER_TASK,
    Scope,
    queue_messages,
    queue_outbound,
    schedule_delivery,
)
from threadline.models import FlowExecution, Job, WhatsappMessage
from threadline.sandbox.state import SandboxState
from threadline.whatsapp import payloads


async def _job_statuses(resources: Resources) -> list[str]:
    async with resources.db.session() as session:
        rows = await session.execute(select(Job.status).where(Job.task == DELIVER_TASK))
        return list(rows.scalars())


async def _flow_in_conversation(
    client: httpx.AsyncClient,
    resources: Resources,
    project: TestProject,
    phone: str,
    definition: dict[str, Any] | None = None,
) -> tuple[TestConversation, uuid.UUID]:
    """A conversation and an execution inside it that has sent "Question?" and waits."""
    conversation = await open_conversation(resources, project, phone=phone)
    flow_id = await create_active_flow(client, project, definition or ask_and_reply())
    started = await start_execution(client, project, flow_id, phone=phone)
    execution_id = uuid.UUID(started["id"])
    await run_jobs(resources)
    async with resources.db.session() as session:
        joined = await session.get(FlowExecution, execution_id)
        assert joined is not None and joined.conversation_id == uuid.UUID(conversation.id)
    return conversation, execution_id


def _api_row(project: TestProject, conversation: TestConversation, body: str) -> WhatsappMessage:
    return WhatsappMessage(
        project_id=uuid.UUID(project.id),
        direction="outbound",
        conversation_id=uuid.UUID(conversation.id),
        whatsapp_config_id=uuid.UUID(conversation.config_id),
        phone_number=conversation.phone,
        message_type="text",
        content=body,
        payload=payloads.text_message(conversation.phone, body),
        created_at=utcnow(),
    )


async def _statuses(resources: Resources) -> list[str]:
    async with resources.db.session() as session:
        rows = await session.execute(select(WhatsappMessage.status).order_by(WhatsappMessage.id))
        return list(rows.scalars())


async def test_a_flow_in_a_conversation_delivers_through_the_conversations_job(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation, execution_id = await _flow_in_conversation(
        client, resources, project, "+15550003333"
    )

    answered = await resume(client, project, str(execution_id), {"input": "yes"})
    assert answered.status_code == 200, answered.text
    await run_jobs(resources)

    async with resources.db.session() as session:
        rows = list(
            (await session.execute(select(WhatsappMessage).order_by(WhatsappMessage.id))).scalars()
        )
        keys = list(
            (
                await session.execute(select(Job.dedupe_key).where(Job.task == DELIVER_TASK))
            ).scalars()
        )
    conversation_id = uuid.UUID(conversation.id)
    assert [(m.status, m.conversation_id) for m in rows] == [("sent", conversation_id)] * 2
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Question?", "You said yes"]
    assert keys == [], "the conversation's delivery job finished"


async def _hold_open_while_a_worker_decides(resources: Resources, queue: Any) -> None:
    """Run ``queue(session)`` in a transaction held open while a worker claims the job."""
    async with resources.db.transaction() as held:
        await queue(held)
        worker = asyncio.create_task(Worker(resources).run_until_idle(timeout=20))
        async with asyncio.timeout(10):
            while await _job_statuses(resources) == ["queued"]:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # let the worker reach its "nothing left" decision first
    await worker
    await run_jobs(resources)


async def test_an_api_send_held_open_while_the_conversations_job_finishes_is_sent(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: on SQLite a worker cannot run while a write is open")
    project = await create_project(resources, sandbox_url)
    conversation, _ = await _flow_in_conversation(client, resources, project, "+15550004444")
    scope = Scope(uuid.UUID(conversation.id), conversation=True)
    async with resources.db.transaction() as session:
        await schedule_delivery(session, scope)

    async def api_send(session: Any) -> None:
        await conversations.lock(session, scope.id)
        await queue_outbound(session, _api_row(project, conversation, "late"))

    await _hold_open_while_a_worker_decides(resources, api_send)

    assert await _statuses(resources) == ["sent", "sent"]
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Question?", "late"]


async def test_a_flow_step_held_open_while_the_conversations_job_finishes_is_sent(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    database_url: str,
) -> None:
    """The step holds only its execution's lock; the job's decision waits for it all the same."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: on SQLite a worker cannot run while a write is open")
    project = await create_project(resources, sandbox_url)
    conversation, execution_id = await _flow_in_conversation(
        client, resources, project, "+15550005555"
    )
    async with resources.db.transaction() as session:
        await schedule_delivery(session, Scope(uuid.UUID(conversation.id), conversation=True))

    async def flow_step(session: Any) -> None:
        execution = await executions.get_for_update(session, execution_id)
        assert execution is not None
        send = SendMessage(
            node_id="late", payload=payloads.text_message(conversation.phone, "late")
        )
        await queue_messages(session, execution, [send], utcnow())

    await _hold_open_while_a_worker_decides(resources, flow_step)

    assert await _statuses(resources) == ["sent", "sent"]
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Question?", "late"]


async def test_twenty_api_sends_and_a_flows_sends_leave_in_one_line(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """API sends before, during and after a flow's burst, a worker running all along."""
    project = await create_project(resources, sandbox_url)
    replies = [node(f"r{i}", "send_text", message=f"flow {i}") for i in range(5)]
    definition = chain(
        node("start", "start"),
        node("ask", "send_text", message="Question?"),
        node("wait", "wait_for_response"),
        *replies,
    )
    conversation, execution_id = await _flow_in_conversation(
        client, resources, project, "+15550006666", definition
    )
    stop = asyncio.Event()

    async def keep_working() -> None:
        worker = Worker(resources)
        while not stop.is_set():
            await worker.run_until_idle()
            await asyncio.sleep(0.01)

    async def api_send(index: int) -> None:
        response = await send_api_message(
            client, project, conversation.id, {"content": f"api {index}"}
        )
        assert response.status_code == 201, response.text

    background = asyncio.create_task(keep_working())
    for index in range(10):
        await api_send(index)
    answered = await resume(client, project, str(execution_id), {"input": "go"})
    assert answered.status_code == 200, answered.text
    for index in range(10, 20):
        await api_send(index)
    stop.set()
    await background
    await run_jobs(resources)

    async with resources.db.session() as session:
        statement = (
            select(WhatsappMessage)
            .where(WhatsappMessage.conversation_id == uuid.UUID(conversation.id))
            .order_by(WhatsappMessage.id)
        )
        rows = list((await session.execute(statement)).scalars())
    bodies = [m.payload["text"]["body"] for m in rows]
    expected = ["Question?"] + [f"api {i}" for i in range(20)] + [f"flow {i}" for i in range(5)]
    assert sorted(bodies) == sorted(expected)
    assert {m.status for m in rows} == {"sent"}
    sent = [m.payload["text"]["body"] for m in sandbox.outbox]
    # Each queuer's messages leave in its order, and each message once. Between queuers
    # the order is the order their transactions committed: a row's id is drawn at insert,
    # so a burst inserted first may commit after an API send that got a later id.
    assert len(sent) == len(set(sent)) == len(expected), sent
    assert sent[0] == "Question?"
    assert [b for b in sent if b.startswith("api")] == [f"api {i}" for i in range(20)]
    assert [b for b in sent if b.startswith("flow")] == [f"flow {i}" for i in range(5)]
