"""SQL for flow triggers."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import Flow, FlowTrigger


async def get_for_update(
    session: AsyncSession, project_id: uuid.UUID, trigger_id: uuid.UUID
) -> FlowTrigger | None:
    """A trigger of the project, row-locked until the transaction ends, or None.

    A concurrent edit or delete waits for this transaction, then sees its outcome (a
    deleted trigger is then None, not a stale row whose UPDATE or DELETE matches nothing).
    """
    statement = (
        select(FlowTrigger)
        .where(FlowTrigger.id == trigger_id, FlowTrigger.project_id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for_flow(
    session: AsyncSession, flow_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[FlowTrigger], int]:
    """A page of a flow's triggers, oldest first, and how many it has in all."""
    where = FlowTrigger.flow_id == flow_id
    total = await session.execute(select(func.count()).select_from(FlowTrigger).where(where))
    rows = await session.execute(
        select(FlowTrigger)
        .where(where)
        .order_by(FlowTrigger.created_at, FlowTrigger.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), int(total.scalar_one())


async def has_active(session: AsyncSession, flow_id: uuid.UUID, trigger_type: str) -> bool:
    """Whether the flow has an active trigger of ``trigger_type``."""
    statement = select(
        exists().where(
            FlowTrigger.flow_id == flow_id,
            FlowTrigger.trigger_type == trigger_type,
            FlowTrigger.active.is_(True),
        )
    )
    return bool((await session.execute(statement)).scalar_one())


async def inbound_for_config(session: AsyncSession, config_id: uuid.UUID) -> list[FlowTrigger]:
    """Active inbound_message triggers on a config whose flows are active, oldest first."""
    statement = (
        select(FlowTrigger)
        .join(Flow, Flow.id == FlowTrigger.flow_id)
        .where(
            FlowTrigger.whatsapp_config_id == config_id,
            FlowTrigger.trigger_type == "inbound_message",
            FlowTrigger.active.is_(True),
            Flow.status == "active",
            Flow.current_version_id.is_not(None),
        )
        .order_by(FlowTrigger.created_at, FlowTrigger.id)
    )
    return list((await session.execute(statement)).scalars())


def add(session: AsyncSession, trigger: FlowTrigger) -> None:
    """Stage a new trigger row."""
    session.add(trigger)


async def delete(session: AsyncSession, trigger: FlowTrigger) -> None:
    """Delete a trigger row."""
    await session.delete(trigger)
