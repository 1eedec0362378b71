"""The one router index: every domain's routes under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from threadline.agent_executions.endpoints import router as agent_executions
from threadline.agents.endpoints import router as agents
from threadline.calls.endpoints import router as calls
from threadline.contacts.endpoints import router as contacts
from threadline.conversation_assignments.endpoints import router as assignments
from threadline.conversations.endpoints import router as conversations
from threadline.customers.endpoints import router as customers
from threadline.executions.endpoints import router as executions
from threadline.flows.endpoints import router as flows
from threadline.functions.endpoints import router as functions
from threadline.kit.input_guard import reject_unstorable_input
from threadline.kit.openapi import ERROR_RESPONSES
from threadline.models_registry.endpoints import router as models_registry
from threadline.projects.endpoints import router as projects
from threadline.sandbox_sessions.endpoints import router as sandbox_sessions
from threadline.setup_links.endpoints import router as setup_links
from threadline.test_chats.endpoints import router as test_chats
from threadline.triggers.endpoints import router as triggers
from threadline.whatsapp_broadcasts.endpoints import router as whatsapp_broadcasts
from threadline.whatsapp_configs.endpoints import router as whatsapp_configs
from threadline.whatsapp_display_names.endpoints import router as display_names
from threadline.whatsapp_messages.endpoints import router as whatsapp_messages
from threadline.whatsapp_templates.endpoints import router as whatsapp_templates
from threadline.whatsapp_webhooks.endpoints import router as whatsapp_webhooks

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(reject_unstorable_input)], responses=ERROR_RESPONSES
)
DOMAINS = (projects, flows, triggers, executions, functions, models_registry)
CHANNEL = (customers, whatsapp_configs, whatsapp_webhooks, contacts, sandbox_sessions)
BUSINESS = (whatsapp_templates, display_names, whatsapp_broadcasts, setup_links)
INBOX = (conversations, assignments, calls, whatsapp_messages)
AGENTS = (agents, agent_executions, test_chats)
for domain in (*DOMAINS, *CHANNEL, *BUSINESS, *INBOX, *AGENTS):
    router.include_router(domain)
