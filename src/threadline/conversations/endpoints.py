"""HTTP routes for WhatsApp conversations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.conversations import presenters, service
from threadline.conversations.repository import ConversationFilters
from threadline.conversations.schemas import ConversationOut, ConversationUpdate
from threadline.errors import BadRequest
from threadline.kit.clock import utcnow
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams, as_utc
from threadline.whatsapp.phones import e164

router = APIRouter(tags=["WhatsApp Conversations"])


def _phone(phone: str | None) -> str | None:
    try:
        return None if phone is None else e164(phone)
    except ValueError as error:
        raise BadRequest(f"q[phone_number_eq]: {error}") from None


@router.get("/whatsapp_conversations", response_model=Page[ConversationOut])
async def list_conversations(
    session: DbSession,
    project: CurrentProject,
    status: Annotated[Literal["active", "ended"] | None, Query(alias="q[status_eq]")] = None,
    gteq: Annotated[datetime | None, Query(alias="q[last_active_at_gteq]")] = None,
    lteq: Annotated[datetime | None, Query(alias="q[last_active_at_lteq]")] = None,
    config_id: Annotated[uuid.UUID | None, Query(alias="q[whatsapp_config_id_eq]")] = None,
    customer_id: Annotated[
        uuid.UUID | None, Query(alias="q[whatsapp_config_customer_id_eq]")
    ] = None,
    phone_number: Annotated[str | None, Query(alias="q[phone_number_eq]")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ConversationOut]:
    """The project's conversations, most recently active first."""
    filters = ConversationFilters(
        status=status,
        last_active_at_gteq=as_utc("last_active_at_gteq", gteq),
        last_active_at_lteq=as_utc("last_active_at_lteq", lteq),
        whatsapp_config_id=config_id,
        customer_id=customer_id,
        phone_number=_phone(phone_number),
    )
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_for(session, project, filters, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.present(*row) for row in rows], meta=meta)


@router.get("/whatsapp_conversations/{conversation_id}", response_model=Envelope[ConversationOut])
async def get_conversation(
    conversation_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[ConversationOut]:
    """One conversation."""
    return Envelope(data=presenters.present(*await service.get(session, project, conversation_id)))


@router.patch("/whatsapp_conversations/{conversation_id}", response_model=Envelope[ConversationOut])
async def update_conversation(
    conversation_id: uuid.UUID,
    body: ConversationUpdate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[ConversationOut]:
    """End a conversation (``ended``, reason ``api``) or reopen an ended one (``active``)."""
    inactivity = timedelta(minutes=resources.settings.conversation_inactivity_minutes)
    changed = await service.set_status(
        session,
        project,
        conversation_id,
        body.whatsapp_conversation.status,
        now=utcnow(),
        inactivity=inactivity,
    )
    return Envelope(data=presenters.present(*changed))
