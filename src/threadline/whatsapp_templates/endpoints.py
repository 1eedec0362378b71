"""HTTP routes for WhatsApp templates: drafts, review on Meta, sync and sends.

Routes that wait for the Graph API (submit, delete, edit on Meta) authenticate in a
read session of their own and hold no transaction while Meta answers.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from threadline.auth.dependencies import (
    AppResources,
    CurrentProject,
    DbSession,
    OutsideProject,
)
from threadline.kit.clock import utcnow
from threadline.kit.listing import PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.models import WhatsappTemplate
from threadline.whatsapp_configs.service import list_for, list_for_customer
from threadline.whatsapp_messages.schemas import public_id
from threadline.whatsapp_templates import presenters, service, submission, sync
from threadline.whatsapp_templates.repository import TemplateFilters
from threadline.whatsapp_templates.schemas import (
    MetaUpdate,
    SendOut,
    SendRequest,
    SubmitOut,
    SubmitRequest,
    SyncOut,
    SyncRequest,
    SyncStatusOut,
    SyncSummary,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)

router = APIRouter(tags=["WhatsApp Templates"])
_Category = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
_RUN_STATES = ("queued", "running", "succeeded", "failed")
_Status = Literal["draft", "submitted", "approved", "rejected", "disabled", "removed"]


@router.post("/whatsapp_templates/sync", status_code=202, response_model=SyncOut)
async def sync_templates(
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    body: SyncRequest | None = None,
) -> SyncOut:
    """Queue a pull of every template and status from Meta, one run per business account."""
    body = body or SyncRequest()
    runs, queued = await sync.start(
        session, project, body.whatsapp_config_id, body.customer_id, utcnow()
    )
    summary = SyncSummary(
        total_requests=len(runs), jobs_enqueued=queued, already_in_progress=len(runs) - queued
    )
    configs = await list_for(session, project)
    shown = presenters.sync_runs(runs, configs, resources.settings)
    return SyncOut(sync_requests=shown, summary=summary)


@router.get("/whatsapp_templates/sync_status", response_model=SyncStatusOut)
async def sync_status(
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    sync_request_ids: Annotated[str | None, Query(max_length=4000)] = None,
    business_account_id: Annotated[str | None, Query(max_length=64)] = None,
    whatsapp_config_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> SyncStatusOut:
    """Sync runs: the ones named, or the latest of each business account."""
    ids = None
    if sync_request_ids:
        ids = [uuid.UUID(part) for part in sync_request_ids.split(",") if part.strip()]
    runs = await sync.status(
        session,
        project,
        ids=ids,
        waba_id=business_account_id,
        config_id=whatsapp_config_id,
        customer_id=customer_id,
    )
    configs = await list_for(session, project)
    shown = presenters.sync_runs(runs, configs, resources.settings)
    finished = [run.finished_at for run in shown if run.finished_at is not None]
    summary = {
        "total_requests": len(shown),
        **{state: sum(1 for r in shown if r.status == state) for state in _RUN_STATES},
        "last_finished_at": max(finished).isoformat() if finished else None,
        "templates_removed": sum(run.templates_removed for run in shown),
    }
    return SyncStatusOut(sync_requests=shown, summary=summary)


@router.get("/whatsapp_templates", response_model=Page[TemplateOut])
async def list_templates(
    session: DbSession,
    project: CurrentProject,
    page: PageQuery,
    customer_id: uuid.UUID | None = None,
    name: Annotated[str | None, Query(alias="q[name_cont]", max_length=512)] = None,
    language: Annotated[str | None, Query(alias="q[language_code_eq]", max_length=20)] = None,
    category: Annotated[_Category | None, Query(alias="q[category_eq]")] = None,
    status: Annotated[_Status | None, Query(alias="q[status_eq]")] = None,
    q_customer: Annotated[uuid.UUID | None, Query(alias="q[customer_id_eq]")] = None,
    waba: Annotated[str | None, Query(alias="business_account_id", max_length=64)] = None,
    q_waba: Annotated[str | None, Query(alias="q[business_account_id_eq]", max_length=64)] = None,
    config_id: Annotated[uuid.UUID | None, Query(alias="whatsapp_config_id")] = None,
    q_config: Annotated[uuid.UUID | None, Query(alias="q[whatsapp_config_id_eq]")] = None,
) -> Page[TemplateOut]:
    """The project's templates, newest first."""
    config_ids = [c for c in (config_id, q_config) if c is not None] or None
    customer = customer_id or q_customer
    if customer is not None:
        of_customer = [c.id for c in await list_for_customer(session, project, customer)]
        config_ids = [c for c in config_ids or of_customer if c in of_customer]
    filters = TemplateFilters(
        name_contains=name,
        language_code=language,
        category=category,
        status=status,
        business_account_id=waba or q_waba,
        whatsapp_config_ids=config_ids,
    )
    rows, total = await service.list_page(session, project, filters, page)
    accounts = await service.config_ids_by_account(session, project)
    return page_of([presenters.template(row, accounts) for row in rows], page, total)


@router.post("/whatsapp_templates", status_code=201, response_model=Envelope[TemplateOut])
async def create_template(
    body: TemplateCreate, session: DbSession, project: CurrentProject
) -> Envelope[TemplateOut]:
    """Create a draft, checked against Meta's rules (a 422 lists every problem)."""
    template = await service.create(session, project, body, utcnow())
    return Envelope(data=await _shown(session, project, template))


@router.get("/whatsapp_templates/{template_id}", response_model=Envelope[TemplateOut])
async def get_template(
    template_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[TemplateOut]:
    """One template."""
    template = await service.get(session, project.id, template_id)
    return Envelope(data=await _shown(session, project, template))


@router.patch("/whatsapp_templates/{template_id}", response_model=Envelope[TemplateOut])
async def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, session: DbSession, project: CurrentProject
) -> Envelope[TemplateOut]:
    """Change a draft."""
    template = await service.update(session, project, template_id, body.template, utcnow())
    return Envelope(data=await _shown(session, project, template))


@router.delete("/whatsapp_templates/{template_id}", response_model=Envelope[TemplateOut])
async def delete_template(
    template_id: uuid.UUID, resources: AppResources, project: OutsideProject
) -> Envelope[TemplateOut]:
    """Delete the template on Meta, then mark it removed here."""
    template = await submission.delete(resources, project, template_id)
    return Envelope(data=await _shown_outside(resources, project, template))


@router.post("/whatsapp_templates/{template_id}/submit", response_model=SubmitOut)
async def submit_template(
    template_id: uuid.UUID,
    resources: AppResources,
    project: OutsideProject,
    body: SubmitRequest | None = None,
) -> SubmitOut:
    """Submit a draft (or rejected) template to Meta for review."""
    template = await submission.submit(resources, project, template_id, body or SubmitRequest())
    return SubmitOut(
        template_id=template.id,
        template_name=template.name,
        submission_id=template.meta_template_id or "",
        data=await _shown_outside(resources, project, template),
    )


@router.patch("/whatsapp_templates/{template_id}/meta", response_model=Envelope[TemplateOut])
async def edit_template_on_meta(
    template_id: uuid.UUID, body: MetaUpdate, resources: AppResources, project: OutsideProject
) -> Envelope[TemplateOut]:
    """Edit an approved, rejected or disabled template on Meta (reviewed again)."""
    template = await submission.edit_on_meta(resources, project, template_id, body.template)
    return Envelope(data=await _shown_outside(resources, project, template))


@router.post("/whatsapp_templates/{template_id}/send_template", response_model=SendOut)
async def send_template(
    template_id: uuid.UUID,
    body: SendRequest,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> SendOut:
    """Queue the approved template to a phone number (its parameters checked first)."""
    inactivity = timedelta(minutes=resources.settings.conversation_inactivity_minutes)
    template, message = await service.send(
        session, project, template_id, body.template, utcnow(), inactivity=inactivity
    )
    response = {
        "message_id": public_id(message.id),
        "conversation_id": str(message.conversation_id),
        "status": message.status,
    }
    return SendOut(template_id=template.id, template_name=template.name, response=response)


async def _shown(session: DbSession, project: CurrentProject, row: WhatsappTemplate) -> TemplateOut:
    return presenters.template(row, await service.config_ids_by_account(session, project))


async def _shown_outside(
    resources: AppResources, project: OutsideProject, row: WhatsappTemplate
) -> TemplateOut:
    return presenters.template(row, await submission.config_ids_by_account(resources, project))
