"""A model's answer is applied by a compare-and-set on the row its call was prepared from.

No row lock is read before the apply: its UPDATE carries the state read before the call
(step, wait, conversation, number), and its RETURNING says whether an inbox left a
message pending for the busy run (``holds_inbound``), instead of a query of the
messages. These tests change the row while the call is in flight and check that the
answer still lands where it should, or nowhere, and that no inbound message is left.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from agent_builders import LOCAL_MODEL, ask, create_agent, script, start_agent
from agent_graphs import simple_graph
from builders import create_project, inbound_message_row, run_jobs
from llm_builders import LiveModelServer
from threadline.executions import agent_calls
from threadline.executions import repository as executions
from threadline.executions.failure import fail_execution
from threadline.inbound.inbox import Step, process_next
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, ModelCall, WhatsappConversation, WhatsappMessage

Interference = Callable[[uuid.UUID], Awaitable[None]]


def _during_the_call(monkeypatch: pytest.MonkeyPatch, interfere: Interference) -> None:
    """Run ``interfere`` after the model answered and before the answer is applied."""
    call_model = agent_calls.call_model

    async def answered_then_interfered(
        resources: Resources, execution_id: uuid.UUID, seq: int
    ) -> agent_calls.Answered | agent_calls.ModelFailed:
        answer = await call_model(resources, execution_id, seq)
        await interfere(execution_id)
        return answer

    monkeypatch.setattr(agent_calls, "call_model", answered_then_interfered)


async def _replies(resources: Resources, execution_id: uuid.UUID) -> list[str | None]:
    async with resources.db.session() as session:
        rows = await session.execute(
            select(WhatsappMessage.content)
            .where(
                WhatsappMessage.execution_id == execution_id,
                WhatsappMessage.direction == "outbound",
            )
            .order_by(WhatsappMessage.id)
        )
        return list(rows.scalars())


async def _usage_rows(resources: Resources, execution_id: uuid.UUID) -> int:
    async with resources.db.session() as session:
        count = select(func.count()).where(ModelCall.subject_id == str(execution_id))
        return int((await session.execute(count)).scalar_one())


async def _execution(resources: Resources, execution_id: uuid.UUID) -> FlowExecution:
    async with resources.db.session() as session:
        execution = await executions.load(session, execution_id)
        assert execution is not None
        return execution


async def _start(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model: LiveModelServer
) -> uuid.UUID:
    await model.load_script(LOCAL_MODEL, script(ask("Which order is it?"), ask("Anything else?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"], message="hi")
    return uuid.UUID(started["id"])


async def _store_inbound(resources: Resources, execution_id: uuid.UUID, text: str) -> int:
    """A pending inbound message in the run's conversation, with no inbox job queued."""
    async with resources.db.transaction() as session:
        execution = await executions.load(session, execution_id)
        assert execution is not None and execution.conversation_id is not None
        now, wamid = utcnow(), f"wamid.in.{uuid.uuid4().hex}"
        payload = {
            "id": wamid,
            "from": execution.phone_number.lstrip("+"),
            "timestamp": str(int(now.timestamp())),
            "type": "text",
            "text": {"body": text},
        }
        message = inbound_message_row(
            execution.project_id,
            execution.conversation_id,
            execution.whatsapp_config_id,
            execution.phone_number,
            payload,
            wamid=wamid,
            processing_status="pending",
        )
        session.add(message)
        await session.flush()
        return message.id


async def test_an_answer_to_a_run_failed_during_the_call_is_recorded_not_applied(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail(execution_id: uuid.UUID) -> None:
        async with resources.db.transaction() as session:
            assert await fail_execution(session, execution_id, {"message": "stopped"}, utcnow())

    _during_the_call(monkeypatch, fail)
    execution_id = await _start(client, resources, sandbox_url, model_server)
    await run_jobs(resources)
    execution = await _execution(resources, execution_id)
    assert (execution.status, execution.error) == ("failed", {"message": "stopped"})
    assert await _replies(resources, execution_id) == []
    assert await _usage_rows(resources, execution_id) == 1


async def test_an_answer_waits_for_a_lock_held_on_its_run_then_sees_the_run_moved_on(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The failing transaction holds the row when the apply's UPDATE arrives (on
    PostgreSQL it waits for the row; on SQLite for the write lock) and commits after."""
    holding = asyncio.Event()
    holders: list[asyncio.Task[None]] = []

    async def hold(execution_id: uuid.UUID) -> None:
        async with resources.db.transaction() as session:
            await fail_execution(session, execution_id, {"message": "stopped"}, utcnow())
            holding.set()
            await asyncio.sleep(0.3)  # the apply starts meanwhile, and waits

    async def fail_while_applying(execution_id: uuid.UUID) -> None:
        holders.append(asyncio.create_task(hold(execution_id)))
        await holding.wait()

    _during_the_call(monkeypatch, fail_while_applying)
    execution_id = await _start(client, resources, sandbox_url, model_server)
    await run_jobs(resources)
    await asyncio.gather(*holders)
    execution = await _execution(resources, execution_id)
    assert (execution.status, execution.error) == ("failed", {"message": "stopped"})
    assert await _replies(resources, execution_id) == []
    assert await _usage_rows(resources, execution_id) == 1


async def test_an_answer_reaches_a_run_adopted_by_a_new_conversation_during_the_call(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An inbox's adopt moves the run to a new conversation without a step: the answer is
    still applied, and to the run as adopted (its system keeps the new conversation)."""
    adopted: list[uuid.UUID] = []

    async def adopt(execution_id: uuid.UUID) -> None:
        async with resources.db.transaction() as session:
            execution = await executions.get_for_update(session, execution_id)
            assert execution is not None and execution.conversation_id is not None
            earlier = await session.get(WhatsappConversation, execution.conversation_id)
            assert earlier is not None
            earlier.status, earlier.ended_at = "ended", utcnow()
            await session.flush()
            later = _next_conversation(earlier)
            session.add(later)
            await session.flush()
            execution.conversation_id = later.id
            execution.system = {**execution.system, "conversation_id": str(later.id)}
            adopted.append(later.id)

    _during_the_call(monkeypatch, adopt)
    execution_id = await _start(client, resources, sandbox_url, model_server)
    await run_jobs(resources)
    execution = await _execution(resources, execution_id)
    assert (execution.status, execution.conversation_id) == ("waiting", adopted[0])
    assert execution.system["conversation_id"] == str(adopted[0])
    assert await _replies(resources, execution_id) == ["Which order is it?"]


def _next_conversation(earlier: WhatsappConversation) -> WhatsappConversation:
    now = utcnow() + timedelta(seconds=1)
    return WhatsappConversation(
        project_id=earlier.project_id,
        whatsapp_config_id=earlier.whatsapp_config_id,
        contact_id=earlier.contact_id,
        phone_number=earlier.phone_number,
        last_active_at=now,
        created_at=now,
        updated_at=now,
    )


async def test_a_message_the_inbox_held_back_during_the_call_is_answered_after_the_pause(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inbox finds the run busy and commits its hold after the apply's UPDATE has
    started (on PostgreSQL that UPDATE waits for the row the inbox locked): the apply
    must still see the hold and wake the inbox, which then resumes the run with it."""
    holding = asyncio.Event()
    holders: list[asyncio.Task[None]] = []
    stored: list[int] = []

    async def inbox_busy(conversation_id: uuid.UUID) -> None:
        async with resources.db.transaction() as session:
            step = await process_next(session, conversation_id, utcnow(), debounce=timedelta())
            assert step is Step.BLOCKED
            holding.set()
            await asyncio.sleep(0.3)  # the apply starts meanwhile, and waits

    async def message_during_the_call(execution_id: uuid.UUID) -> None:
        if stored:
            return  # the second call, the resumed turn's
        stored.append(await _store_inbound(resources, execution_id, "order A-17"))
        execution = await _execution(resources, execution_id)
        assert execution.conversation_id is not None
        holders.append(asyncio.create_task(inbox_busy(execution.conversation_id)))
        await holding.wait()

    _during_the_call(monkeypatch, message_during_the_call)
    execution_id = await _start(client, resources, sandbox_url, model_server)
    await run_jobs(resources)
    await asyncio.gather(*holders)
    async with resources.db.session() as session:
        message = await session.get(WhatsappMessage, stored[0])
        assert message is not None and message.processing_status == "processed"
    execution = await _execution(resources, execution_id)
    assert execution.status == "waiting" and not execution.holds_inbound  # the claim cleared it
    assert await _replies(resources, execution_id) == ["Which order is it?", "Anything else?"]
    assert await _usage_rows(resources, execution_id) == 2
