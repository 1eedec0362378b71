"""Agent executions: start, read, resume, and set their status. The rules live here.

An agent execution is a row of the executions runtime (kind ``agent``), pinned at its
start to an immutable snapshot of the agent (the newest one when it still matches the
agent, else a new one), and advanced by the agent interpreter through the same
compare-and-set, outbox, timers and call jobs as a flow's run.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agent_executions import repository
from threadline.agent_executions.schemas import (
    SETTABLE,
    AgentExecutionCreate,
    AgentExecutionFilters,
    AgentExecutionStatus,
    AgentResumeIn,
)
from threadline.agents import repository as agents
from threadline.agents.service import version_of
from threadline.conversations import service as conversations
from threadline.engine.state import LogEvent, Resume, Start
from threadline.errors import BadRequest, NotFound, Unprocessable
from threadline.executions import agent_runtime
from threadline.executions import repository as executions
from threadline.executions import service as flow_executions
from threadline.executions.keys import timer_key
from threadline.executions.runtime import resume_claimed, run_engine
from threadline.jobs.queue import cancel
from threadline.kit.clock import utcnow
from threadline.kit.schemas import PageParams
from threadline.models import (
    Agent,
    AgentSnapshot,
    ExecutionEvent,
    FlowExecution,
    Project,
    WhatsappConversation,
)
from threadline.whatsapp_configs import cache as config_cache
from threadline.whatsapp_configs.service import resolve as resolve_whatsapp_config
from threadline.whatsapp_webhooks import emitters as webhook_events
from threadline.whatsapp_webhooks import names


class AgentNotFound(NotFound):
    """The agent does not exist in this project."""

    error = "Agent not found"


class AgentExecutionNotFound(NotFound):
    """The agent execution does not exist in this project."""

    error = "Execution not found"


class PhoneNumberRequired(BadRequest):
    """An agent execution talks to a WhatsApp number: give ``phone_number`` (E.164, e.g.
    +15551234567), or use POST /agents/{agent_id}/test_chats to talk to the agent without
    WhatsApp."""


class NotResumable(BadRequest):
    """The execution is not paused or handed off: only a waiting execution can be resumed."""

    error = "Execution cannot be resumed"


class StatusNotSettable(Unprocessable):
    """The execution cannot take that status now."""

    error = "Invalid status"


async def agent_of(session: AsyncSession, project: Project, agent_id: uuid.UUID) -> Agent:
    """The project's agent, or :class:`AgentNotFound`."""
    agent = await agents.get(session, project.id, agent_id, for_update=False)
    if agent is None:
        raise AgentNotFound()
    return agent


async def pin_version(session: AsyncSession, agent: Agent, now: datetime) -> uuid.UUID:
    """The immutable version (snapshot id) a new execution runs: the agent's pinned
    snapshot, else the newest one if the agent has not changed since, else a new
    snapshot of it as it is now; the last two are pinned for the starts after."""
    if agent.pinned_snapshot_id is not None:
        return agent.pinned_snapshot_id
    latest = await repository.latest_snapshot(session, agent.id)
    if latest is not None and version_of(latest) == version_of(agent):
        pinned = latest.id
    else:
        pinned = (await _freeze(session, agent, now)).id
    # Unless the agent was updated since this transaction read it: the update wins.
    await agents.pin_snapshot(session, agent.id, pinned, agent.updated_at)
    return pinned


async def _freeze(session: AsyncSession, agent: Agent, now: datetime) -> AgentSnapshot:
    snapshot = AgentSnapshot(
        project_id=agent.project_id,
        agent_id=agent.id,
        name=f"{agent.name} (as run at {now:%Y-%m-%d %H:%M:%S} UTC)",
        system_prompt=agent.system_prompt,
        graph=agent.graph,
        agent_version=agent.agent_version,
        message_debounce_seconds=agent.message_debounce_seconds,
        created_at=now,
        updated_at=now,
    )
    agents.add(session, snapshot)
    await session.flush()
    return snapshot


async def number_of(session: AsyncSession, project: Project, agent: Agent) -> uuid.UUID:
    """The WhatsApp config the agent sends from: its primary number, any number it is
    attached to, or the project's default config.

    Cached with the config lookups (``whatsapp_configs/cache.py``): every start asks,
    and attaching, detaching or changing a number or a config empties the cache.
    """

    async def load() -> uuid.UUID:
        links = await agents.links_of_agent(session, agent.id)
        primary = next((link for link in links if link.is_primary), links[0] if links else None)
        if primary is not None:
            return primary.whatsapp_config_id
        return (await resolve_whatsapp_config(session, project, None)).id

    return await config_cache.cache.get(config_cache.agent_number_key(agent.id), load)


def new_execution(
    agent: Agent,
    snapshot_id: uuid.UUID,
    *,
    phone_number: str,
    text: str | None,
    now: datetime,
    test: bool = False,
) -> FlowExecution:
    """An agent execution row, before its first step."""
    execution_id = uuid.uuid4()
    contact = {"phone_number": phone_number}
    system = {
        "execution_id": str(execution_id),
        "agent_id": str(agent.id),
        "phone_number": phone_number,
        "started_at": now.isoformat(),
        "last_user_input": text,
    }
    return FlowExecution(
        id=execution_id,
        project_id=agent.project_id,
        kind=agent_runtime.KIND,
        agent_id=agent.id,
        agent_snapshot_id=snapshot_id,
        agent_state=agent_runtime.initial_state({"contact_information": contact}),
        test=test,
        tracking_id=uuid.uuid4(),
        phone_number=phone_number,
        status="running",
        current_node_id="",
        step_seq=0,
        variables={},
        context={},
        system=system,
        started_at=now,
        last_event_at=now,
    )


async def start(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    data: AgentExecutionCreate,
    *,
    inactivity: timedelta,
) -> FlowExecution:
    """Start the agent with a WhatsApp number, in that number's conversation."""
    agent = await agent_of(session, project, agent_id)
    if data.phone_number is None:
        raise PhoneNumberRequired()
    now = utcnow()
    snapshot_id = await pin_version(session, agent, now)
    config_id = await number_of(session, project, agent)
    execution = new_execution(
        agent, snapshot_id, phone_number=data.phone_number, text=data.text, now=now
    )
    execution.whatsapp_config_id = config_id
    execution.conversation_id = await flow_executions.conversation_for(
        session, project, config_id, data.phone_number, now, inactivity
    )
    executions.add(session, execution)
    await webhook_events.agent_execution_event(session, names.AGENT_EXECUTION_STARTED, execution)
    await run_engine(session, execution, Start(), now)
    await session.flush()
    return execution


async def get(
    session: AsyncSession, project: Project, agent_id: uuid.UUID, execution_id: uuid.UUID
) -> FlowExecution:
    """One of the agent's executions, or :class:`AgentExecutionNotFound`."""
    await agent_of(session, project, agent_id)
    execution = await repository.get(session, project.id, agent_id, execution_id)
    if execution is None:
        raise AgentExecutionNotFound()
    return execution


async def list_for_agent(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    filters: AgentExecutionFilters,
    page: PageParams,
) -> tuple[list[FlowExecution], int]:
    """A page of the agent's executions."""
    await agent_of(session, project, agent_id)
    return await repository.list_for_agent(session, project.id, agent_id, filters, page)


async def resume(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    data: AgentResumeIn,
) -> FlowExecution:
    """Resume a paused (or handed-off) execution with the user's message, exactly once."""
    now = utcnow()
    claimed = await repository.claim_paused(
        session, project.id, agent_id, execution_id, reasons=("user_input", "handoff"), now=now
    )
    if claimed is None:
        await get(session, project, agent_id, execution_id)  # a 404 says what is missing
        raise NotResumable()
    text = data.message.text if data.message else None
    await resume_claimed(session, claimed, Resume(reason="api", input=text), now)
    await session.flush()
    return claimed


async def set_status(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    status: AgentExecutionStatus,
) -> FlowExecution:
    """``PUT``: end, stop or fail a live execution, or move a wait between paused and
    handoff. Anything else is the runtime's to decide: 422, and nothing changes."""
    execution = await get(session, project, agent_id, execution_id)
    if status not in SETTABLE:
        raise StatusNotSettable(
            f"status {status!r} cannot be set; set one of: {', '.join(SETTABLE)}"
        )
    now = utcnow()
    changed = await _change(session, execution, status, now)
    if changed is None:
        raise StatusNotSettable(_why_not(execution, status))
    await executions.add_events(session, [_status_event(changed, status, now)])
    await cancel(session, timer_key(changed.id))
    return changed


async def _change(
    session: AsyncSession, execution: FlowExecution, status: AgentExecutionStatus, now: datetime
) -> FlowExecution | None:
    if status == "handoff":
        return await repository.switch_wait(
            session, execution.id, from_reason="user_input", to_reason="handoff", now=now
        )
    if status == "paused":
        return await repository.switch_wait(
            session, execution.id, from_reason="handoff", to_reason="user_input", now=now
        )
    return await repository.finish(session, execution.id, status, now)


def _why_not(execution: FlowExecution, status: str) -> str:
    if status in ("handoff", "paused"):
        wanted = "paused" if status == "handoff" else "handed off"
        return f"only a {wanted} execution can be set to {status!r}"
    return f"the execution has already {execution.status}; it cannot be set to {status!r}"


def _status_event(execution: FlowExecution, status: str, now: datetime) -> dict[str, object]:
    event = LogEvent("status_set", execution.current_node_id or None, {"status": status})
    return {
        "project_id": execution.project_id,
        "execution_id": execution.id,
        "kind": event.kind,
        "node_id": event.node_id,
        "at": now,
        "duration_ms": None,
        "data": event.data,
    }


async def list_for_conversation(
    session: AsyncSession, project: Project, conversation_id: uuid.UUID, page: PageParams
) -> tuple[list[FlowExecution], int]:
    """A page of a conversation's agent executions (the conversation must be the project's)."""
    await _conversation(session, project, conversation_id)
    return await repository.list_for_conversation(session, project.id, conversation_id, page)


async def get_in_conversation(
    session: AsyncSession, project: Project, conversation_id: uuid.UUID, execution_id: uuid.UUID
) -> FlowExecution:
    """One agent execution of the conversation."""
    await _conversation(session, project, conversation_id)
    found = await repository.get_in_conversation(session, project.id, conversation_id, execution_id)
    if found is None:
        raise AgentExecutionNotFound()
    return found


async def _conversation(
    session: AsyncSession, project: Project, conversation_id: uuid.UUID
) -> None:
    await conversations.get(session, project, conversation_id)


async def bound_agent(session: AsyncSession, whatsapp_config_id: uuid.UUID) -> Agent | None:
    """The agent a WhatsApp number is attached to, if any."""
    link = await agents.link_of_config(session, whatsapp_config_id)
    if link is None:
        return None
    return await agents.get(session, link.project_id, link.agent_id, for_update=False)


def debounce_of(agent: Agent | None) -> timedelta:
    """How long the agent lets a burst of messages gather before it answers."""
    seconds = agent.message_debounce_seconds if agent is not None else None
    return timedelta(seconds=seconds or 0)


async def start_from_inbound(
    session: AsyncSession,
    agent: Agent,
    conversation: WhatsappConversation,
    text: str | None,
    ids: dict[str, str],
    now: datetime,
) -> FlowExecution:
    """Start the number's agent for a conversation's first message (the caller holds the
    conversation's row lock, as for a flow started by a trigger)."""
    snapshot_id = await pin_version(session, agent, now)
    execution = new_execution(
        agent, snapshot_id, phone_number=conversation.phone_number, text=text, now=now
    )
    execution.whatsapp_config_id = conversation.whatsapp_config_id
    execution.conversation_id = conversation.id
    execution.system.update(ids)
    executions.add(session, execution)
    await webhook_events.agent_execution_event(session, names.AGENT_EXECUTION_STARTED, execution)
    await run_engine(session, execution, Start(), now)
    return execution


async def events(
    session: AsyncSession,
    project: Project,
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    page: PageParams,
) -> tuple[list[ExecutionEvent], int]:
    """A page of the execution's event log: every step, model call and tool call."""
    execution = await get(session, project, agent_id, execution_id)
    return await executions.list_events(
        session, project.id, execution.id, offset=page.offset, limit=page.per_page
    )
