"""Read models of flows: a flow with the facts derived from its executions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.flows import presenters, service
from threadline.flows.schemas import FlowOut, FlowWithDefinitionOut
from threadline.models import Flow, Project
from threadline.whatsapp_configs.service import list_for as list_whatsapp_configs


def describe(flows: list[Flow]) -> list[FlowOut]:
    """Flows as the API shows them."""
    return [presenters.flow_out(flow) for flow in flows]


def describe_one(flow: Flow) -> FlowOut:
    """One flow as the API shows it."""
    return presenters.flow_out(flow)


async def with_definition(
    session: AsyncSession, project: Project, flow: Flow
) -> FlowWithDefinitionOut:
    """A flow with its current definition and the WhatsApp configs it can send from."""
    version = await service.current_version(session, flow)
    configs = await list_whatsapp_configs(session, project)
    return presenters.flow_with_definition_out(flow, version, configs)
