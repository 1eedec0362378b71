"""Turning execution rows into the API's shapes."""

from __future__ import annotations

import uuid

from threadline.executions.schemas import CurrentStep, EventOut, ExecutionOut
from threadline.flows.definition import FlowDefinition
from threadline.flows.schemas import FlowOut
from threadline.models import ExecutionEvent, FlowExecution


def current_step(execution: FlowExecution, definition: FlowDefinition) -> CurrentStep | None:
    """The node the execution is at; its id is stable per flow version and node."""
    if not execution.current_node_id or not definition.has_node(execution.current_node_id):
        return None
    node = definition.node(execution.current_node_id)
    return CurrentStep(
        id=uuid.uuid5(execution.flow_refs()[1], node.id),
        name=node.display_name or node.id,
        step_type=node.node_type,
        node_id=node.id,
    )


def execution_out(
    execution: FlowExecution, definition: FlowDefinition, flow: FlowOut
) -> ExecutionOut:
    """An execution as the reference's ``FlowExecution`` schema."""
    return ExecutionOut(
        id=execution.id,
        flow_id=execution.flow_refs()[0],
        status=execution.status,
        started_at=execution.started_at,
        ended_at=execution.ended_at,
        last_event_at=execution.last_event_at,
        tracking_id=execution.tracking_id,
        current_step=current_step(execution, definition),
        execution_context=execution.context,
        variables=execution.variables,
        flow=flow,
        phone_number=execution.phone_number,
        wait_reason=execution.wait_reason,
        wait_until=execution.wait_until,
        error=execution.error,
    )


def event_out(event: ExecutionEvent) -> EventOut:
    """One event log entry."""
    return EventOut(
        id=event.id,
        kind=event.kind,
        node_id=event.node_id,
        at=event.at,
        duration_ms=event.duration_ms,
        data=event.data,
    )
