"""HTTP routes for flow executions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse

from threadline.auth.dependencies import CurrentProject, DbSession, get_resources
from threadline.errors import BadRequest
from threadline.executions import examples, presenters, service, views
from threadline.executions.schemas import (
    STATUS_CODES,
    EventOut,
    ExecutionAccepted,
    ExecutionCreate,
    ExecutionFilters,
    ExecutionOut,
    ResumeIn,
)
from threadline.idempotency.service import fingerprint, run_once
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams

router = APIRouter(tags=["Flow Executions"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _utc(name: str, moment: datetime | None) -> datetime | None:
    """A filter time in UTC; one without an offset is UTC, not the server's local time."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"q[{name}] is out of range") from None


def _filters(
    status: int | None, gteq: datetime | None, lteq: datetime | None, tracking_id: uuid.UUID | None
) -> ExecutionFilters:
    if status is not None and status not in STATUS_CODES:
        raise BadRequest("q[status_eq] must be 0 (running), 1 (waiting), 2 (ended) or 3 (failed)")
    return ExecutionFilters(
        status=STATUS_CODES[status] if status is not None else None,
        started_at_gteq=_utc("started_at_gteq", gteq),
        started_at_lteq=_utc("started_at_lteq", lteq),
        tracking_id=tracking_id,
    )


@router.get("/flows/{flow_id}/executions", response_model=Page[ExecutionOut])
async def list_executions(
    flow_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    status: Annotated[int | None, Query(alias="q[status_eq]")] = None,
    started_at_gteq: Annotated[datetime | None, Query(alias="q[started_at_gteq]")] = None,
    started_at_lteq: Annotated[datetime | None, Query(alias="q[started_at_lteq]")] = None,
    tracking_id: Annotated[uuid.UUID | None, Query(alias="q[tracking_id_eq]")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ExecutionOut]:
    """A flow's executions, newest first; ``q[tracking_id_eq]`` finds the one a create queued."""
    params = PageParams(page=page, per_page=per_page)
    filters = _filters(status, started_at_gteq, started_at_lteq, tracking_id)
    flow, rows, total = await service.list_for_flow(session, project, flow_id, filters, params)
    data = await views.describe(session, project, rows, flow)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=data, meta=meta)


async def _keyed(
    request: Request, session: DbSession, project: CurrentProject, key: str | None, operation: Any
) -> JSONResponse:
    print_ = fingerprint(request.method, request.url.path, await request.body())
    status_code, body = await run_once(session, project, key, print_, operation)
    return JSONResponse(status_code=status_code, content=body)


@router.post(
    "/flows/{flow_id}/executions",
    status_code=202,
    response_model=ExecutionAccepted,
    responses=examples.CREATE_RESPONSES,
)
async def create_execution(
    flow_id: uuid.UUID,
    body: Annotated[ExecutionCreate, Body(openapi_examples=examples.CREATE_BODY)],
    request: Request,
    session: DbSession,
    project: CurrentProject,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Start the flow for a phone number; find the execution by ``tracking_id``."""

    async def operation() -> tuple[int, dict[str, Any]]:
        settings = get_resources(request).settings
        inactivity = timedelta(minutes=settings.conversation_inactivity_minutes)
        started = await service.start(session, project, flow_id, body, inactivity=inactivity)
        accepted = ExecutionAccepted(
            flow_id=started.flow.id, tracking_id=started.execution.tracking_id
        )
        return 202, accepted.model_dump(mode="json")

    return await _keyed(request, session, project, idempotency_key, operation)


@router.get("/flow_executions/{execution_id}", response_model=Envelope[ExecutionOut])
async def get_execution(
    execution_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[ExecutionOut]:
    """One execution."""
    execution = await service.get(session, project, execution_id)
    return Envelope(data=await views.describe_one(session, project, execution))


@router.post(
    "/flow_executions/{execution_id}/resume",
    response_model=Envelope[ExecutionOut],
    responses=examples.RESUME_RESPONSES,
)
async def resume_execution(
    execution_id: uuid.UUID,
    request: Request,
    session: DbSession,
    project: CurrentProject,
    body: Annotated[ResumeIn | None, Body(openapi_examples=examples.RESUME_BODY)] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Resume a waiting execution with the user's input."""

    async def operation() -> tuple[int, dict[str, Any]]:
        execution = await service.resume(session, project, execution_id, body or ResumeIn())
        out = await views.describe_one(session, project, execution)
        return 200, Envelope(data=out).model_dump(mode="json")

    return await _keyed(request, session, project, idempotency_key, operation)


@router.get("/flow_executions/{execution_id}/events", response_model=Page[EventOut])
async def list_events(
    execution_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[EventOut]:
    """The execution's event log, oldest first."""
    params = PageParams.model_construct(page=page, per_page=per_page)
    rows, total = await service.events(session, project, execution_id, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.event_out(e) for e in rows], meta=meta)
