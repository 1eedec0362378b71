"""Every table, imported here so Alembic and the app see one metadata."""

from threadline.models.agent import Agent
from threadline.models.agent_snapshot import AgentSnapshot
from threadline.models.agent_whatsapp_config import AgentWhatsappConfig
from threadline.models.api_key import ApiKey
from threadline.models.conversation_assignment import ConversationAssignment
from threadline.models.customer import Customer
from threadline.models.event_webhook import WebhookDelivery, WhatsappWebhook
from threadline.models.execution_event import ExecutionEvent
from threadline.models.flow import Flow, FlowVersion
from threadline.models.flow_execution import FlowExecution
from threadline.models.flow_trigger import FlowTrigger
from threadline.models.function import Function
from threadline.models.idempotency_key import IdempotencyKey
from threadline.models.job import Job
from threadline.models.knowledge_chunk import KnowledgeChunk, include_name
from threadline.models.model_call import ModelCall
from threadline.models.model_provider import ModelProvider
from threadline.models.project import Project
from threadline.models.project_model import ProjectModel
from threadline.models.sandbox_session import SandboxSession
from threadline.models.setup_link import SetupLink
from threadline.models.user import User
from threadline.models.whatsapp_broadcast import WhatsappBroadcast, WhatsappBroadcastRecipient
from threadline.models.whatsapp_call import WhatsappCall, WhatsappCallPermission
from threadline.models.whatsapp_config import WhatsappConfig
from threadline.models.whatsapp_contact import WhatsappContact, WhatsappContactNote
from threadline.models.whatsapp_conversation import WhatsappConversation
from threadline.models.whatsapp_display_name_request import WhatsappDisplayNameRequest
from threadline.models.whatsapp_message import WhatsappMessage
from threadline.models.whatsapp_template import WhatsappTemplate, WhatsappTemplateSyncRun
from threadline.models.whatsapp_webhook import InboundWebhook, MessageStatusEvent

__all__ = [
    "Agent",
    "AgentSnapshot",
    "AgentWhatsappConfig",
    "ApiKey",
    "ConversationAssignment",
    "Customer",
    "ExecutionEvent",
    "Flow",
    "FlowExecution",
    "FlowTrigger",
    "FlowVersion",
    "Function",
    "IdempotencyKey",
    "InboundWebhook",
    "Job",
    "KnowledgeChunk",
    "MessageStatusEvent",
    "ModelCall",
    "ModelProvider",
    "Project",
    "ProjectModel",
    "SandboxSession",
    "SetupLink",
    "User",
    "WebhookDelivery",
    "WhatsappBroadcast",
    "WhatsappBroadcastRecipient",
    "WhatsappCall",
    "WhatsappCallPermission",
    "WhatsappConfig",
    "WhatsappContact",
    "WhatsappContactNote",
    "WhatsappConversation",
    "WhatsappDisplayNameRequest",
    "WhatsappMessage",
    "WhatsappTemplate",
    "WhatsappTemplateSyncRun",
    "WhatsappWebhook",
    "include_name",
]
