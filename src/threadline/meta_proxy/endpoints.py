"""The Graph API surface of Kapso's WhatsApp proxy, served from Threadline's own data.

Outside ``/api/v1``: ``/meta/whatsapp/{version}/...`` with ``X-API-Key``, so an
application written with Kapso's WhatsApp client libraries runs against Threadline by
changing its base URL. Errors here are Graph-shaped (see ``errors.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession, OutsideProject
from threadline.calls.repository import CallFilters
from threadline.contacts.repository import ContactFilters
from threadline.conversations.repository import ConversationFilters
from threadline.kit.clock import utcnow
from threadline.kit.graph_fields import FieldsError, parse_fields, select
from threadline.kit.multipart import UPLOAD_OPENAPI, NotMultipart, file_bytes, parse_form
from threadline.kit.schemas import as_utc
from threadline.meta_proxy import media, service
from threadline.meta_proxy.errors import PREFIX, InvalidParameter
from threadline.meta_proxy.paging import Cursor, paged
from threadline.meta_proxy.repository import HistoryFilters
from threadline.meta_proxy.schemas import (
    GRAPH_ERROR_RESPONSES,
    ContactPatch,
    ConversationPatch,
)


def graph_version(version: Annotated[str, Path(pattern=r"^v\d+\.\d+$")]) -> str:
    """The Graph API version of the path (any ``vNN.N``: the proxy answers one way)."""
    return version


router = APIRouter(
    prefix=PREFIX + "/{version}",
    tags=["Meta WhatsApp proxy"],
    dependencies=[Depends(graph_version)],
    responses=GRAPH_ERROR_RESPONSES,
)
Limit = Annotated[int | None, Query()]
Fields = Annotated[str | None, Query(max_length=2000)]
Record = dict[str, Any]


def _page(request: Request, items: list[Record], cursor: Cursor, fields: str | None) -> Record:
    try:
        selection = parse_fields(fields)
    except FieldsError as error:
        raise InvalidParameter(str(error)) from None
    answer = paged([select(item, selection) for item in items], cursor, request.url)
    return answer


def _inactivity(resources: AppResources) -> timedelta:
    return timedelta(minutes=resources.settings.conversation_inactivity_minutes)


def _uuid_or_none(value: str | None, name: str) -> uuid.UUID | None:
    try:
        return None if value is None else uuid.UUID(value)
    except ValueError:
        raise InvalidParameter(f"{name} must be a UUID") from None


@router.post("/{phone_number_id}/messages")
async def send_message(
    phone_number_id: str,
    body: Annotated[dict[str, Any], Body()],
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Record:
    """Send a message (Graph's body) through the outbox, or mark one read."""
    config = await service.config_for(session, project.id, phone_number_id)
    sender = service.Sender(project, config, _inactivity(resources))
    return await service.send(session, sender, body, utcnow())


@router.get("/{phone_number_id}/messages")
async def list_messages(
    request: Request,
    phone_number_id: str,
    session: DbSession,
    project: CurrentProject,
    direction: Literal["inbound", "outbound"] | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    conversation_id: str | None = None,
    limit: Limit = None,
    after: str | None = None,
    before: str | None = None,
    fields: Fields = None,
) -> Record:
    """The number's message history, newest first, cursor-paged."""
    config = await service.config_for(session, project.id, phone_number_id)
    cursor = Cursor.of(limit, after, before)
    filters = HistoryFilters(
        direction=direction,
        status=status,
        conversation_id=_uuid_or_none(conversation_id, "conversation_id"),
        since=as_utc("since", since),
        until=as_utc("until", until),
    )
    items = await service.history(session, project, config, filters, cursor)
    return _page(request, items, cursor, fields)


@router.get("/{phone_number_id}/messages/{message_id}")
async def get_message(
    phone_number_id: str,
    message_id: str,
    session: DbSession,
    project: CurrentProject,
    fields: Fields = None,
) -> Record:
    """One message of the number, by Threadline's id or Meta's wamid."""
    config = await service.config_for(session, project.id, phone_number_id)
    return _one(await service.message(session, project, config, message_id), fields)


def _one(record: Record, fields: str | None) -> Record:
    try:
        return select(record, parse_fields(fields))
    except FieldsError as error:
        raise InvalidParameter(str(error)) from None


@router.get("/{phone_number_id}/conversations")
async def list_conversations(
    request: Request,
    phone_number_id: str,
    session: DbSession,
    project: CurrentProject,
    status: Literal["active", "ended"] | None = None,
    last_active_since: datetime | None = None,
    last_active_until: datetime | None = None,
    phone_number: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = None,
    after: str | None = None,
    before: str | None = None,
    fields: Fields = None,
) -> Record:
    """The number's conversations, most recently active first, cursor-paged."""
    config = await service.config_for(session, project.id, phone_number_id)
    cursor = Cursor.of(limit, after, before)
    filters = ConversationFilters(
        status=status,
        last_active_at_gteq=as_utc("last_active_since", last_active_since),
        last_active_at_lteq=as_utc("last_active_until", last_active_until),
        phone_number=service.e164_or_invalid(phone_number),
    )
    items = await service.conversation_list(session, project, config, filters, cursor)
    return _page(request, items, cursor, fields)


@router.get("/{phone_number_id}/conversations/{conversation_id}")
async def get_number_conversation(
    phone_number_id: str,
    conversation_id: str,
    session: DbSession,
    project: CurrentProject,
    fields: Fields = None,
) -> Record:
    """One conversation on the number."""
    config = await service.config_for(session, project.id, phone_number_id)
    return _one(await service.conversation(session, project, conversation_id, config), fields)


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: str, session: DbSession, project: CurrentProject, fields: Fields = None
) -> Record:
    """One conversation of the project, on whichever number."""
    return _one(await service.conversation(session, project, conversation_id, None), fields)


@router.patch("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: str,
    body: ConversationPatch,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Record:
    """End or reopen a conversation."""
    return await service.set_conversation_status(
        session,
        project,
        conversation_id,
        body.status,
        now=utcnow(),
        inactivity=_inactivity(resources),
    )


@router.get("/{phone_number_id}/contacts")
async def list_contacts(
    request: Request,
    phone_number_id: str,
    session: DbSession,
    project: CurrentProject,
    wa_id: Annotated[str | None, Query(max_length=32)] = None,
    has_customer: bool | None = None,
    customer_id: str | None = None,
    limit: Limit = None,
    after: str | None = None,
    before: str | None = None,
    fields: Fields = None,
) -> Record:
    """The project's contacts (Threadline's directory is per project), newest first."""
    await service.config_for(session, project.id, phone_number_id)
    cursor = Cursor.of(limit, after, before)
    filters = ContactFilters(
        customer_id=_uuid_or_none(customer_id, "customer_id"), has_customer=has_customer
    )
    items = await service.contact_list(session, project, filters, wa_id, cursor)
    return _page(request, items, cursor, fields)


@router.get("/{phone_number_id}/contacts/{wa_id}")
async def get_contact(
    phone_number_id: str, wa_id: str, session: DbSession, project: CurrentProject
) -> Record:
    """One contact by its WhatsApp id."""
    await service.config_for(session, project.id, phone_number_id)
    return await service.contact(session, project, wa_id)


@router.patch("/{phone_number_id}/contacts/{wa_id}")
async def update_contact(
    phone_number_id: str,
    wa_id: str,
    body: ContactPatch,
    session: DbSession,
    project: CurrentProject,
) -> Record:
    """Rename a contact or replace its metadata."""
    await service.config_for(session, project.id, phone_number_id)
    return await service.update_contact(session, project, wa_id, body.fields(), utcnow())


@router.get("/{phone_number_id}/calls")
async def list_calls(
    request: Request,
    phone_number_id: str,
    session: DbSession,
    project: CurrentProject,
    direction: Annotated[str | None, Query(max_length=10)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    call_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = None,
    after: str | None = None,
    before: str | None = None,
    fields: Fields = None,
) -> Record:
    """The number's calls, newest first, cursor-paged (``call_id``: Meta's call id)."""
    config = await service.config_for(session, project.id, phone_number_id)
    cursor = Cursor.of(limit, after, before)
    filters = CallFilters(
        status=status,
        direction=direction,
        since=as_utc("since", since),
        until=as_utc("until", until),
        call_id=call_id,
    )
    items = await service.call_list(session, project, config, filters, cursor)
    return _page(request, items, cursor, fields)


@router.get("/calls/{call_id}")
async def get_call(call_id: str, session: DbSession, project: CurrentProject) -> Record:
    """One call by Threadline's id or Meta's call id."""
    return await service.call(session, project, call_id)


@router.post("/{phone_number_id}/media", openapi_extra=UPLOAD_OPENAPI)
async def upload_media(
    phone_number_id: str, request: Request, project: OutsideProject, resources: AppResources
) -> Record:
    """Multipart upload (``file``, ``type``, ``messaging_product``), forwarded to the number's
    Graph API; the answer is its media id."""
    try:
        form, upload = parse_form(request.headers.get("content-type", ""), await request.body())
    except NotMultipart as error:
        raise InvalidParameter(str(error)) from None
    if upload is None:
        raise InvalidParameter("The parameter file is required.")
    if form.get("messaging_product") != "whatsapp":
        raise InvalidParameter("The parameter messaging_product is required and must be whatsapp.")
    mime_type = form.get("type") or upload.get_content_type()
    data = file_bytes(upload)
    to = await media.number(resources, project.id, phone_number_id)
    return await media.upload(resources.http, to, data, mime_type, upload.get_filename())


@router.get("/media_downloads/{token}", response_class=Response)
async def download_media(token: str, resources: AppResources) -> Response:
    """The bytes of a media object, by the short-lived URL ``GET {media_id}`` gave."""
    return await media.download(resources, token)


@router.get("/{media_id}")
async def get_media(
    version: str,
    media_id: str,
    request: Request,
    project: OutsideProject,
    resources: AppResources,
    phone_number_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Record:
    """A media object's metadata; ``url`` is a Threadline download URL (five minutes)."""
    of = await media.number(resources, project.id, phone_number_id)
    base = str(request.base_url).rstrip("/") + f"{PREFIX}/{version}/media_downloads"
    return await media.info(resources, of, media_id, base)


@router.delete("/{media_id}")
async def delete_media(
    media_id: str,
    project: OutsideProject,
    resources: AppResources,
    phone_number_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Record:
    """Delete a media object on the number's Graph API."""
    of = await media.number(resources, project.id, phone_number_id)
    return await media.delete(resources.http, of, media_id)
