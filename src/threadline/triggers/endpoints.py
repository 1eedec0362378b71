"""HTTP routes for flow triggers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams
from threadline.models import FlowTrigger
from threadline.triggers import service
from threadline.triggers.schemas import Triggerable, TriggerCreate, TriggerOut, TriggerUpdate

router = APIRouter(tags=["Flow Triggers"])

_DISPLAY_NAMES = {"api_call": "API call", "inbound_message": "Inbound message"}


def _out(trigger: FlowTrigger) -> TriggerOut:
    return TriggerOut(
        id=trigger.id,
        flow_id=trigger.flow_id,
        trigger_type=trigger.trigger_type,
        active=trigger.active,
        display_name=_DISPLAY_NAMES.get(trigger.trigger_type, trigger.trigger_type),
        triggerable=Triggerable(
            id=trigger.id,
            whatsapp_config_id=trigger.whatsapp_config_id,
            keywords=trigger.keywords,
            pattern=trigger.pattern,
        ),
        created_at=trigger.created_at,
        updated_at=trigger.updated_at,
    )


@router.get("/flows/{flow_id}/triggers", response_model=Page[TriggerOut])
async def list_triggers(
    flow_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[TriggerOut]:
    """A flow's triggers, oldest first."""
    params = PageParams(page=page, per_page=per_page)
    triggers, total = await service.list_for_flow(session, project, flow_id, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[_out(t) for t in triggers], meta=meta)


@router.post("/flows/{flow_id}/triggers", status_code=201, response_model=Envelope[TriggerOut])
async def create_trigger(
    flow_id: uuid.UUID, body: TriggerCreate, session: DbSession, project: CurrentProject
) -> Envelope[TriggerOut]:
    """Add a trigger to a flow."""
    return Envelope(data=_out(await service.create(session, project, flow_id, body.trigger)))


@router.patch("/triggers/{trigger_id}", response_model=Envelope[TriggerOut])
async def update_trigger(
    trigger_id: uuid.UUID, body: TriggerUpdate, session: DbSession, project: CurrentProject
) -> Envelope[TriggerOut]:
    """Switch a trigger on or off."""
    return Envelope(data=_out(await service.update(session, project, trigger_id, body.trigger)))


@router.delete("/triggers/{trigger_id}", status_code=204)
async def delete_trigger(
    trigger_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Response:
    """Delete a trigger."""
    await service.delete(session, project, trigger_id)
    return Response(status_code=204)
