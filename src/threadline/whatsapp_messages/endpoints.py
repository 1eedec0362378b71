"""HTTP routes for WhatsApp messages."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.kit.schemas import MAX_PAGE, Page, PageMeta, PageParams
from threadline.whatsapp_messages import presenters, service
from threadline.whatsapp_messages.repository import MessageFilters
from threadline.whatsapp_messages.schemas import MessageOut

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
