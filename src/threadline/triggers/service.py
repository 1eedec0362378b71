"""Flow triggers: what may start a flow."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import NotFound, Unprocessable
from threadline.flows import service as flows
from threadline.kit.clock import utcnow
from threadline.kit.schemas import PageParams
from threadline.models import FlowTrigger, Project
from threadline.triggers import repository
from threadline.triggers.schemas import TriggerCreateFields, TriggerUpdateFields


class TriggerNotFound(NotFound):
    """The trigger does not exist in this project."""

    error = "Trigger not found"


async def create(
    session: AsyncSession, project: Project, flow_id: uuid.UUID, fields: TriggerCreateFields
) -> FlowTrigger:
    """Add a trigger to a flow of ``project``."""
    flow = await flows.get(session, project, flow_id)
    if fields.trigger_type == "inbound_message":
        raise Unprocessable(
            "inbound_message triggers are not available yet; use trigger_type api_call"
        )
    now = utcnow()
    trigger = FlowTrigger(
        id=uuid.uuid4(),
        project_id=project.id,
        flow_id=flow.id,
        trigger_type=fields.trigger_type,
        active=fields.active,
        whatsapp_config_id=None,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, trigger)
    await session.flush()
    return trigger


async def list_for_flow(
    session: AsyncSession, project: Project, flow_id: uuid.UUID, page: PageParams
) -> tuple[list[FlowTrigger], int]:
    """A page of the triggers of a flow of ``project``, and how many it has in all."""
    flow = await flows.get(session, project, flow_id)
    return await repository.list_for_flow(session, flow.id, offset=page.offset, limit=page.per_page)


async def _get(session: AsyncSession, project: Project, trigger_id: uuid.UUID) -> FlowTrigger:
    trigger = await repository.get_for_update(session, project.id, trigger_id)
    if trigger is None:
        raise TriggerNotFound()
    return trigger


async def update(
    session: AsyncSession, project: Project, trigger_id: uuid.UUID, fields: TriggerUpdateFields
) -> FlowTrigger:
    """Switch a trigger on or off."""
    trigger = await _get(session, project, trigger_id)
    if fields.active is not None:
        trigger.active = fields.active
        trigger.updated_at = utcnow()
    await session.flush()
    return trigger


async def delete(session: AsyncSession, project: Project, trigger_id: uuid.UUID) -> None:
    """Remove a trigger (the flow stays)."""
    await repository.delete(session, await _get(session, project, trigger_id))


async def has_active_api_trigger(session: AsyncSession, flow_id: uuid.UUID) -> bool:
    """Whether API calls may start the flow."""
    return await repository.has_active(session, flow_id, "api_call")
