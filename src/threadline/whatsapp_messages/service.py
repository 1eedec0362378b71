"""The messages API's rules: history, sends through the outbox, read receipts, deletion."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.conversations import service as conversations
from threadline.errors import NotFound
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappMessage
from threadline.whatsapp_messages import repository
from threadline.whatsapp_messages.repository import MessageFilters
from threadline.whatsapp_messages.schemas import row_id


class MessageNotFound(NotFound):
    """The WhatsApp message does not exist in this project."""

    error = "WhatsApp message not found"


async def list_for_conversation(
    session: AsyncSession,
    project: Project,
    conversation_id: uuid.UUID,
    filters: MessageFilters,
    page: PageParams,
) -> tuple[list[WhatsappMessage], int]:
    """A page of a conversation's messages, both directions, newest first."""
    await conversations.get(session, project, conversation_id)
    return await repository.list_for_conversation(
        session, conversation_id, filters, offset=page.offset, limit=page.per_page
    )


async def get(
    session: AsyncSession, project: Project, message_id: str, *, for_update: bool = False
) -> WhatsappMessage:
    """A message of the project by its API id (another project's is a 404)."""
    key = row_id(message_id)
    message = (
        None
        if key is None
        else await repository.get(session, project.id, key, for_update=for_update)
    )
    if message is None:
        raise MessageNotFound()
    return message
