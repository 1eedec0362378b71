"""Every table, imported here so Alembic and the app see one metadata."""

from threadline.models.api_key import ApiKey
from threadline.models.execution_event import ExecutionEvent
from threadline.models.flow import Flow, FlowVersion
from threadline.models.flow_execution import FlowExecution
from threadline.models.flow_trigger import FlowTrigger
from threadline.models.function import Function
from threadline.models.idempotency_key import IdempotencyKey
from threadline.models.job import Job
from threadline.models.outbound_message import OutboundMessage
from threadline.models.project import Project
from threadline.models.whatsapp_config import WhatsappConfig

__all__ = [
    "ApiKey",
    "ExecutionEvent",
    "Flow",
    "FlowExecution",
    "FlowTrigger",
    "FlowVersion",
    "Function",
    "IdempotencyKey",
    "Job",
    "OutboundMessage",
    "Project",
    "WhatsappConfig",
]
