"""HTTP routes for WhatsApp messages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.kit.clock import utcnow
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams
from threadline.whatsapp_messages import presenters, service
from threadline.whatsapp_messages.media import MediaResponse
from threadline.whatsapp_messages.repository import MessageFilters
from threadline.whatsapp_messages.schemas import MessageCreate, MessageOut

router = APIRouter(tags=["WhatsApp Messages"])


@router.get(
    "/whatsapp_conversations/{conversation_id}/whatsapp_messages",
    response_model=Page[MessageOut],
)
async def list_messages(
    conversation_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    direction: Annotated[
        Literal["inbound", "outbound"] | None, Query(alias="q[direction_eq]")
    ] = None,
    status: Annotated[str | None, Query(alias="q[status_eq]", max_length=20)] = None,
    message_type: Annotated[str | None, Query(alias="q[message_type_eq]", max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[MessageOut]:
    """A conversation's messages of both directions (flows' and the API's), newest first."""
    filters = MessageFilters(direction=direction, status=status, message_type=message_type)
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_for_conversation(
        session, project, conversation_id, filters, params
    )
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.present(row) for row in rows], meta=meta)


@router.post(
    "/whatsapp_conversations/{conversation_id}/whatsapp_messages",
    status_code=201,
    response_model=Envelope[MessageOut],
)
async def send_in_conversation(
    conversation_id: uuid.UUID, body: MessageCreate, session: DbSession, project: CurrentProject
) -> Envelope[MessageOut]:
    """Queue a message to the conversation's contact; the outbox delivers it, in order."""
    message = await service.send_in_conversation(
        session, project, conversation_id, body.message, utcnow()
    )
    return Envelope(data=presenters.present(message))


@router.post("/whatsapp_messages", status_code=201, response_model=Envelope[MessageOut])
async def send_to_phone(
    body: MessageCreate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    whatsapp_config_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    phone_number: Annotated[str | None, Query(max_length=32)] = None,
) -> Envelope[MessageOut]:
    """Queue a message to a phone number, opening its contact and conversation as needed."""
    inactivity = timedelta(minutes=resources.settings.conversation_inactivity_minutes)
    target = service.SendTarget(phone_number, whatsapp_config_id, customer_id, inactivity)
    message = await service.send_to_phone(session, project, target, body.message, utcnow())
    return Envelope(data=presenters.present(message))


@router.patch("/whatsapp_messages/{message_id}/mark_as_read", response_model=Envelope[MessageOut])
async def mark_as_read(
    message_id: str,
    session: DbSession,
    project: CurrentProject,
    typing_indicator: bool = True,
) -> Envelope[MessageOut]:
    """Mark an inbound message read; Meta's read receipt is sent by a job."""
    message = await service.mark_as_read(
        session, project, message_id, typing_indicator=typing_indicator, now=utcnow()
    )
    return Envelope(data=presenters.present(message))


@router.delete("/whatsapp_messages/{message_id}", status_code=204)
async def delete_message(message_id: str, session: DbSession, project: CurrentProject) -> Response:
    """Delete a message from Threadline (WhatsApp keeps its copy)."""
    await service.delete(session, project, message_id)
    return Response(status_code=204)


@router.get(
    "/whatsapp_messages/{message_id}/media",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The media"}},
)
async def download_media(
    message_id: str, session: DbSession, project: CurrentProject, resources: AppResources
) -> Response:
    """Download an inbound message's media, proxied from the Graph API with the number's token."""
    source = await service.media_source(
        session,
        resources.cipher,
        project,
        message_id,
        sandbox_url=resources.settings.sandbox_graph_url(),
    )
    return MediaResponse(source, resources.http)
