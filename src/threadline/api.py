"""The one router index: every domain's routes under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from threadline.contacts.endpoints import router as contacts
from threadline.executions.endpoints import router as executions
from threadline.flows.endpoints import router as flows
from threadline.functions.endpoints import router as functions
from threadline.kit.input_guard import reject_unstorable_input
from threadline.kit.openapi import ERROR_RESPONSES
from threadline.projects.endpoints import router as projects
from threadline.sandbox_sessions.endpoints import router as sandbox_sessions
from threadline.triggers.endpoints import router as triggers

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(reject_unstorable_input)], responses=ERROR_RESPONSES
)
for domain in (projects, flows, triggers, executions, functions, contacts, sandbox_sessions):
    router.include_router(domain)
