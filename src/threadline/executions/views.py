"""Read models of executions: rows joined with their flow and definition for display."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.executions.presenters import execution_out
from threadline.executions.schemas import ExecutionOut
from threadline.flows import presenters as flow_presenters
from threadline.flows import service as flows
from threadline.models import Flow, FlowExecution, Project


async def describe(
    session: AsyncSession,
    project: Project,
    executions: list[FlowExecution],
    flow: Flow | None = None,
) -> list[ExecutionOut]:
    """Executions (all of one flow) as the API shows them."""
    if not executions:
        return []
    flow = flow or await flows.get(session, project, executions[0].flow_refs()[0])
    flow_out = flow_presenters.flow_out(flow)
    result = []
    for execution in executions:
        definition = await flows.load_definition(session, execution.flow_refs()[1])
        result.append(execution_out(execution, definition, flow_out))
    return result


async def describe_one(
    session: AsyncSession, project: Project, execution: FlowExecution
) -> ExecutionOut:
    """One execution as the API shows it."""
    return (await describe(session, project, [execution]))[0]
