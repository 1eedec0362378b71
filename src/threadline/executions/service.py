"""Flow executions: start, resume, read. The rules live here; SQL and HTTP do not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.contacts import service as contacts
from threadline.conversations import service as conversations
from threadline.engine.state import Resume, Start
from threadline.errors import NotFound, Unprocessable
from threadline.executions import repository
from threadline.executions.runtime import resume_claimed, run_engine
from threadline.executions.schemas import ExecutionCreate, ExecutionFilters, ResumeIn
from threadline.flows import service as flows
from threadline.kit.clock import utcnow
from threadline.kit.schemas import PageParams
from threadline.models import ExecutionEvent, Flow, FlowExecution, Project
from threadline.triggers.service import has_active_api_trigger
from threadline.whatsapp_configs.service import resolve as resolve_whatsapp_config

#: Who may resume a waiting execution through the API: any wait.
API_RESUMABLE = ("user_input", "handoff")


class ExecutionNotFound(NotFound):
    """The flow execution does not exist in this project."""

    error = "Flow execution not found"


class FlowNotExecutable(Unprocessable):
    """Flow must be in active status and have an active API trigger."""

    error = "Flow is not active"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.details = self.message  # the reference's 422 body: {"error", "details": "<why>"}


class FlowNotActive(FlowNotExecutable):
    """The flow is not in active status."""

    @classmethod
    def of(cls, flow: Flow) -> FlowNotActive:
        """The error for ``flow``, saying what to do about its status."""
        if flow.current_version_id is None:
            return cls(
                f"Flow must be in active status and have an active API trigger; it has no "
                f"definition yet: add one with PATCH /flows/{flow.id}, then activate it"
            )
        return cls(
            f"Flow must be in active status and have an active API trigger; it is "
            f'{flow.status}: activate it with PATCH /flows/{flow.id} {{"flow": '
            f'{{"status": "active"}}}}'
        )


class NoActiveApiTrigger(FlowNotExecutable):
    """The flow is active but nothing allows API calls to start it."""

    error = "Flow has no active API trigger"

    @classmethod
    def of(cls, flow: Flow) -> NoActiveApiTrigger:
        """The error for ``flow``, saying how to add or switch on its trigger."""
        return cls(
            f"Flow has no active API trigger: create one with POST /flows/{flow.id}/triggers "
            f'{{"trigger": {{"trigger_type": "api_call"}}}}, or switch an existing one on '
            f'with PATCH /triggers/{{trigger_id}} {{"trigger": {{"active": true}}}}'
        )


class NotResumable(Unprocessable):
    """The execution is not in a waiting state."""

    error = "Execution cannot be resumed"


@dataclass(frozen=True)
class Started:
    """A new execution, already advanced to its first wait (or its end)."""

    flow: Flow
    execution: FlowExecution


async def start(
    session: AsyncSession,
    project: Project,
    flow_id: uuid.UUID,
    data: ExecutionCreate,
    *,
    inactivity: timedelta,
) -> Started:
    """Start a flow for one phone number, as its active API trigger allows.

    The execution joins the number's conversation with the phone (opened if none is
    active), so the user's replies resume it like those of an inbound-started run.
    """
    flow = await flows.get(session, project, flow_id)
    if flow.status != "active" or flow.current_version_id is None:
        raise FlowNotActive.of(flow)
    if not await has_active_api_trigger(session, flow.id):
        raise NoActiveApiTrigger.of(flow)
    config = await resolve_whatsapp_config(session, project, data.whatsapp_config_id)
    execution = _new_execution(project, flow, data, config.id)
    execution.conversation_id = await conversation_for(
        session, project, config.id, data.phone_number, execution.started_at, inactivity
    )
    execution.system["conversation_id"] = str(execution.conversation_id)
    repository.add(session, execution)
    await flows.record_execution(session, flow, execution.started_at)
    await run_engine(session, execution, Start(), execution.started_at)
    await session.flush()
    return Started(flow=flow, execution=execution)


async def conversation_for(
    session: AsyncSession,
    project: Project,
    config_id: uuid.UUID,
    phone_number: str,
    now: datetime,
    inactivity: timedelta,
) -> uuid.UUID:
    """The conversation the run belongs to, row-locked (before any execution's lock)."""
    contact = await contacts.for_phone(session, project.id, phone_number.lstrip("+"), now)
    conversation = await conversations.current(
        session, config_id=config_id, contact=contact, now=now, inactivity=inactivity, lock=True
    )
    return conversation.id


def _new_execution(
    project: Project, flow: Flow, data: ExecutionCreate, config_id: uuid.UUID
) -> FlowExecution:
    assert flow.current_version_id is not None
    now = utcnow()
    execution_id = uuid.uuid4()
    system = {
        "execution_id": str(execution_id),
        "flow_id": str(flow.id),
        "phone_number": data.phone_number,
        "started_at": now.isoformat(),
    }
    context = {**data.initial_data, **data.context}
    return FlowExecution(
        id=execution_id,
        project_id=project.id,
        flow_id=flow.id,
        flow_version_id=flow.current_version_id,
        whatsapp_config_id=config_id,
        tracking_id=uuid.uuid4(),
        phone_number=data.phone_number,
        status="running",
        current_node_id="",
        step_seq=0,
        variables=dict(data.variables),
        context=context,
        system=system,
        started_at=now,
        last_event_at=now,
    )


async def resume(
    session: AsyncSession, project: Project, execution_id: uuid.UUID, data: ResumeIn
) -> FlowExecution:
    """Resume a waiting execution and run it on to its next wait, in the caller's transaction.

    Of concurrent resumes exactly one wins the compare-and-set; the rest get 422. Only the
    effects that need I/O (deliveries, calls, timers) become jobs, as for a start.
    """
    now = utcnow()
    execution = await repository.claim_waiting(
        session,
        execution_id,
        reasons=API_RESUMABLE,
        now=now,
        project_id=project.id,
        scope=repository.OF_A_FLOW,
    )
    if execution is None:
        await get(session, project, execution_id)
        raise NotResumable()
    event = Resume(reason="api", input=data.input, message=data.message)
    await resume_claimed(session, execution, event, now)
    await session.flush()
    return execution


async def get(session: AsyncSession, project: Project, execution_id: uuid.UUID) -> FlowExecution:
    """An execution of ``project``; :class:`ExecutionNotFound` for any other."""
    execution = await repository.get(session, project.id, execution_id)
    if execution is None:
        raise ExecutionNotFound()
    return execution


async def list_for_flow(
    session: AsyncSession,
    project: Project,
    flow_id: uuid.UUID,
    filters: ExecutionFilters,
    page: PageParams,
) -> tuple[Flow, list[FlowExecution], int]:
    """A page of a flow's executions."""
    flow = await flows.get(session, project, flow_id)
    rows, total = await repository.list_for_flow(
        session, flow.id, filters, offset=page.offset, limit=page.per_page
    )
    return flow, rows, total


async def events(
    session: AsyncSession, project: Project, execution_id: uuid.UUID, page: PageParams
) -> tuple[list[ExecutionEvent], int]:
    """A page of an execution's event log."""
    execution = await get(session, project, execution_id)
    return await repository.list_events(
        session, project.id, execution.id, offset=page.offset, limit=page.per_page
    )
