"""Flow triggers: what may start a flow."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import NotFound, Unprocessable
from threadline.flows import service as flows
from threadline.kit.clock import utcnow
from threadline.kit.schemas import PageParams
from threadline.models import FlowTrigger, Project
from threadline.triggers import repository
from threadline.triggers.schemas import TriggerCreateFields, TriggerUpdateFields
from threadline.whatsapp_configs import service as whatsapp_configs


class TriggerNotFound(NotFound):
    """The trigger does not exist in this project."""

    error = "Trigger not found"


async def create(
    session: AsyncSession, project: Project, flow_id: uuid.UUID, fields: TriggerCreateFields
) -> FlowTrigger:
    """Add a trigger to a flow of ``project``."""
    flow = await flows.get(session, project, flow_id)
    config_id = await _inbound_config(session, project, fields)
    now = utcnow()
    trigger = FlowTrigger(
        id=uuid.uuid4(),
        project_id=project.id,
        flow_id=flow.id,
        trigger_type=fields.trigger_type,
        active=fields.active,
        whatsapp_config_id=config_id,
        keywords=fields.keywords or None,
        pattern=fields.pattern,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, trigger)
    await session.flush()
    return trigger


async def _inbound_config(
    session: AsyncSession, project: Project, fields: TriggerCreateFields
) -> uuid.UUID | None:
    """The config an inbound_message trigger listens on (the project's default if unnamed)."""
    if fields.trigger_type != "inbound_message":
        if fields.keywords or fields.pattern:
            raise Unprocessable("keywords and pattern apply to inbound_message triggers only")
        return None
    config = await whatsapp_configs.resolve(session, project, fields.whatsapp_config_id)
    return config.id


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


async def inbound_for_config(session: AsyncSession, config_id: uuid.UUID) -> list[FlowTrigger]:
    """The active inbound_message triggers of a number whose flows are active, oldest first."""
    return await repository.inbound_for_config(session, config_id)


def matches(trigger: FlowTrigger, text: str | None) -> bool:
    """Whether a message with ``text`` starts the trigger's flow."""
    if not trigger.keywords and not trigger.pattern:
        return True
    if text is None:
        return False
    folded = text.strip().casefold()
    if trigger.keywords and folded in {keyword.casefold() for keyword in trigger.keywords}:
        return True
    return bool(trigger.pattern and re.search(trigger.pattern, text))


async def has_active_api_trigger(session: AsyncSession, flow_id: uuid.UUID) -> bool:
    """Whether API calls may start the flow."""
    return await repository.has_active(session, flow_id, "api_call")
