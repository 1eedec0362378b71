"""SQL for executions and their event logs."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from threadline.executions.schemas import ExecutionFilters
from threadline.models import ExecutionEvent, FlowExecution, WhatsappConversation


def add(session: AsyncSession, execution: FlowExecution) -> None:
    """Stage a new execution row."""
    session.add(execution)


async def get(
    session: AsyncSession, project_id: uuid.UUID, execution_id: uuid.UUID, *, kind: str = "flow"
) -> FlowExecution | None:
    """An execution of the project of ``kind`` (a flow's, unless asked), freshly read."""
    statement = (
        select(FlowExecution)
        .where(
            FlowExecution.id == execution_id,
            FlowExecution.project_id == project_id,
            FlowExecution.kind == kind,
        )
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


# The statements every step runs are built once: building one and computing its cache
# key each time cost more than running it (about 0.2 ms of a 0.5 ms statement).
#: The table itself: UPDATEs built on it are plain Core statements, while an ORM-enabled
#: UPDATE (on the entity) is annotated anew, and its cache key rebuilt, on every call.
_EXECUTIONS = cast(Table, FlowExecution.__table__)
_BY_ID = select(FlowExecution).where(FlowExecution.id == bindparam("execution_id"))
_FOR_UPDATE = _BY_ID.with_for_update().execution_options(populate_existing=True)


async def load(session: AsyncSession, execution_id: uuid.UUID) -> FlowExecution | None:
    """An execution by id, without a lock (jobs know their execution's project)."""
    rows = await session.execute(_BY_ID, {"execution_id": execution_id})
    return rows.scalar_one_or_none()


async def load_detached(session: AsyncSession, execution_id: uuid.UUID) -> FlowExecution | None:
    """:func:`load`, detached from ``session``: it keeps the values read once the read
    transaction rolls back (a rollback expires the objects still in the session)."""
    execution = await load(session, execution_id)
    if execution is not None:
        session.expunge(execution)
    return execution


async def get_for_update(session: AsyncSession, execution_id: uuid.UUID) -> FlowExecution | None:
    """An execution, row-locked until the transaction ends (SQLite's lock is the database)."""
    rows = await session.execute(_FOR_UPDATE, {"execution_id": execution_id})
    return rows.scalar_one_or_none()


@dataclass(frozen=True, eq=False)
class ClaimScope:
    """Conditions a claimed row must meet besides its wait (the API resource it is
    resumed through), on the table's columns (``FlowExecution.__table__.c``); their bind
    parameters are given to :func:`claim_waiting`. A module-level constant: its
    statements are built once per scope."""

    name: str
    conditions: tuple[ColumnElement[bool], ...]


#: ``claim_waiting``'s scope for the flows API: a flow's run, never an agent's.
OF_A_FLOW = ClaimScope("flow", (_EXECUTIONS.c.kind == "flow",))


async def claim_waiting(
    session: AsyncSession,
    execution_id: uuid.UUID,
    *,
    reasons: Sequence[str],
    now: datetime,
    project_id: uuid.UUID | None = None,
    expected_seq: int | None = None,
    scope: ClaimScope | None = None,
    scope_params: Mapping[str, Any] | None = None,
) -> FlowExecution | None:
    """Compare-and-set waiting → running; the updated execution if this caller won.

    ``wait_until`` keeps the claimed wait's deadline until the step writes its own, so
    the caller can tell whether that wait had a timer to cancel. Bind parameters of an
    UPDATE may not be named like columns: a ``scope``'s start with ``b_``.
    """
    statement = _claim_statement(
        tuple(reasons), project_id is not None, expected_seq is not None, scope
    )
    params = {"b_execution_id": execution_id, "b_now": now, **(scope_params or {})}
    if project_id is not None:
        params["b_project_id"] = project_id
    if expected_seq is not None:
        params["b_expected_seq"] = expected_seq
    return (await session.execute(statement, params)).scalar_one_or_none()


@functools.cache
def _claim_statement(
    reasons: tuple[str, ...], by_project: bool, by_seq: bool, scope: ClaimScope | None
) -> Any:
    column = _EXECUTIONS.c
    conditions = [
        column.id == bindparam("b_execution_id"),
        column.status == "waiting",
        column.wait_reason.in_(reasons),
        *(scope.conditions if scope is not None else ()),
    ]
    if by_project:
        conditions.append(column.project_id == bindparam("b_project_id"))
    if by_seq:
        conditions.append(column.step_seq == bindparam("b_expected_seq"))
    claim = (
        update(_EXECUTIONS)
        .where(*conditions)
        .values(
            status="running",
            step_seq=column.step_seq + 1,
            wait_reason=None,
            last_event_at=bindparam("b_now"),
            # A waiting run's stop has woken any inbox it held (see write_state_if_current).
            holds_inbound=False,
        )
        .returning(*_EXECUTIONS.c)
    )
    # The row comes back as the session's FlowExecution, fresh.
    return select(FlowExecution).from_statement(claim).execution_options(populate_existing=True)


async def list_for_flow(
    session: AsyncSession, flow_id: uuid.UUID, filters: ExecutionFilters, *, offset: int, limit: int
) -> tuple[list[FlowExecution], int]:
    """A page of a flow's executions, newest first, and how many match in all."""
    conditions: list[Any] = [FlowExecution.flow_id == flow_id]
    if filters.status is not None:
        conditions.append(FlowExecution.status == filters.status)
    if filters.started_at_gteq is not None:
        conditions.append(FlowExecution.started_at >= filters.started_at_gteq)
    if filters.started_at_lteq is not None:
        conditions.append(FlowExecution.started_at <= filters.started_at_lteq)
    if filters.tracking_id is not None:
        conditions.append(FlowExecution.tracking_id == filters.tracking_id)
    total = await session.execute(
        select(func.count()).select_from(FlowExecution).where(*conditions)
    )
    rows = await session.execute(
        select(FlowExecution)
        .where(*conditions)
        .order_by(FlowExecution.started_at.desc(), FlowExecution.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), int(total.scalar_one())


#: The columns a step writes, and their UPDATE, built once (it runs on every step).
STATE_COLUMNS = (
    "status",
    "agent_state",
    "current_node_id",
    "variables",
    "context",
    "system",
    "step_seq",
    "wait_reason",
    "wait_until",
    "error",
    "last_event_at",
    "ended_at",
)
_WRITE_STATE = (
    update(_EXECUTIONS)
    .where(_EXECUTIONS.c.id == bindparam("execution_id"))
    .values({name: bindparam(f"new_{name}") for name in STATE_COLUMNS})
)


async def write_state(
    session: AsyncSession, execution: FlowExecution, values: dict[str, Any]
) -> None:
    """Write a step's new state (``STATE_COLUMNS``) to a stored execution, and to ``execution``.

    Core, not the unit of work: the caller holds the row (it claimed or locked it), and the
    object takes the values as already stored, so no flush writes them again.
    """
    params = {f"new_{name}": values[name] for name in STATE_COLUMNS}
    await session.execute(_WRITE_STATE, {"execution_id": execution.id, **params})
    for name in STATE_COLUMNS:
        set_committed_value(execution, name, values[name])


#: A step applied to the state read before its call: the same UPDATE, on the condition
#: that the row is still that state (the step, its wait, and the links an inbox's adopt or
#: a config's purge change without a step: the conversation and the number).
_WRITE_STATE_IF_CURRENT = _WRITE_STATE.where(
    _EXECUTIONS.c.step_seq == bindparam("b_seq"),
    _EXECUTIONS.c.status == "running",
    _EXECUTIONS.c.wait_reason == bindparam("b_wait"),
    _EXECUTIONS.c.conversation_id.is_not_distinct_from(bindparam("b_conversation_id")),
    _EXECUTIONS.c.whatsapp_config_id.is_not_distinct_from(bindparam("b_config_id")),
).returning(_EXECUTIONS.c.holds_inbound)


@dataclass(frozen=True)
class Written:
    """A compare-and-set step that won: whether an inbox holds a message for the run."""

    holds_inbound: bool


async def write_state_if_current(
    session: AsyncSession, execution: FlowExecution, values: dict[str, Any], *, wait: str
) -> Written | None:
    """:func:`write_state` as a compare-and-set on the state ``execution`` was read in
    (running at its ``step_seq``, waiting on ``wait``); None, and nothing written, if
    the row is no longer so. The UPDATE takes the row lock a SELECT FOR UPDATE would.

    ``holds_inbound`` comes back from the row as updated, not from a query of the
    messages: an inbox sets it holding this row's lock (:func:`hold_inbound`), and on
    PostgreSQL an UPDATE that waited for that lock re-reads the row the inbox committed
    (READ COMMITTED re-checks, and RETURNING returns, the newest version). So either the
    flag was committed before this UPDATE took the lock, and is returned, or the inbox
    takes the lock after this transaction commits and sees the run's new state. A
    subquery in RETURNING would not do: it reads the statement's snapshot, which may
    predate the message if the UPDATE waited for the lock.
    """
    params = {f"new_{name}": values[name] for name in STATE_COLUMNS}
    current = {
        "b_seq": execution.step_seq,
        "b_wait": wait,
        "b_conversation_id": execution.conversation_id,
        "b_config_id": execution.whatsapp_config_id,
    }
    rows = await session.execute(
        _WRITE_STATE_IF_CURRENT, {"execution_id": execution.id, **current, **params}
    )
    holds_inbound = rows.scalar_one_or_none()
    if holds_inbound is None:
        return None
    for name in STATE_COLUMNS:
        set_committed_value(execution, name, values[name])
    return Written(holds_inbound=bool(holds_inbound))


_HOLD_INBOUND = (
    update(_EXECUTIONS)
    .where(_EXECUTIONS.c.id == bindparam("execution_id"))
    .values(holds_inbound=True)
)


async def hold_inbound(session: AsyncSession, execution: FlowExecution) -> None:
    """Note that an inbox left a message pending for ``execution`` (busy): the step that
    stops it wakes the inbox. The caller holds the execution's row lock."""
    await session.execute(_HOLD_INBOUND, {"execution_id": execution.id})
    set_committed_value(execution, "holds_inbound", True)


_INSERT_EVENTS = insert(cast(Table, ExecutionEvent.__table__))


async def add_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append events in one multi-row INSERT.

    A Core insert on the table: the ORM bulk path would split rows whose ``None`` keys
    differ into several statements.
    """
    if rows:
        await session.execute(_INSERT_EVENTS, rows)


async def list_events(
    session: AsyncSession,
    project_id: uuid.UUID,
    execution_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
) -> tuple[list[ExecutionEvent], int]:
    """A page of an execution's events in order, and how many there are."""
    where = (ExecutionEvent.project_id == project_id, ExecutionEvent.execution_id == execution_id)
    total = await session.execute(select(func.count()).select_from(ExecutionEvent).where(*where))
    rows = await session.execute(
        select(ExecutionEvent).where(*where).order_by(ExecutionEvent.id).offset(offset).limit(limit)
    )
    return list(rows.scalars()), int(total.scalar_one())


async def recent_events(
    session: AsyncSession, project_id: uuid.UUID, execution_id: uuid.UUID, *, limit: int
) -> list[ExecutionEvent]:
    """The newest ``limit`` events, oldest first (what a function call is told)."""
    rows = await session.execute(
        select(ExecutionEvent)
        .where(ExecutionEvent.project_id == project_id, ExecutionEvent.execution_id == execution_id)
        .order_by(ExecutionEvent.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows.scalars())))


async def exists_in_project(
    session: AsyncSession, project_id: uuid.UUID, execution_id: uuid.UUID
) -> bool:
    """Whether the execution exists in the project."""
    statement = select(FlowExecution.id).where(
        FlowExecution.id == execution_id, FlowExecution.project_id == project_id
    )
    return (await session.execute(statement)).first() is not None


async def active_in_conversation(
    session: AsyncSession, conversation_id: uuid.UUID
) -> FlowExecution | None:
    """The conversation's running or waiting execution (the newest), row-locked."""
    statement = (
        select(FlowExecution)
        .where(
            FlowExecution.conversation_id == conversation_id,
            FlowExecution.status.in_(("running", "waiting")),
        )
        .order_by(FlowExecution.started_at.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def active_in_earlier_conversation(
    session: AsyncSession, conversation: WhatsappConversation
) -> FlowExecution | None:
    """The newest running or waiting execution of an ended conversation between the same
    number and contact, row-locked (found through the contact's conversations)."""
    earlier = select(WhatsappConversation.id).where(
        WhatsappConversation.contact_id == conversation.contact_id,
        WhatsappConversation.whatsapp_config_id == conversation.whatsapp_config_id,
        WhatsappConversation.id != conversation.id,
    )
    statement = (
        select(FlowExecution)
        .where(
            FlowExecution.conversation_id.in_(earlier),
            FlowExecution.status.in_(("running", "waiting")),
        )
        .order_by(FlowExecution.started_at.desc())
        .limit(1)
        .with_for_update(of=FlowExecution)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()
