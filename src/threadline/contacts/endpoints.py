"""HTTP routes for WhatsApp contacts and their notes.

``{identifier}`` is a contact's id (a UUID) or its phone number in any usual notation.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.contacts import presenters, service
from threadline.contacts.repository import ContactFilters
from threadline.contacts.schemas import (
    ContactCreate,
    ContactOut,
    ContactUpdate,
    NoteCreate,
    NoteOut,
    NoteUpdate,
)
from threadline.errors import BadRequest
from threadline.kit.clock import utcnow
from threadline.kit.schemas import MAX_PAGE, Envelope, Page, PageMeta, PageParams, as_utc

router = APIRouter(tags=["WhatsApp Contacts"])

Identifier = Annotated[
    str,
    Path(
        max_length=64,
        description="The contact's id (UUID) or phone number",
        examples=["15550102030"],
    ),
]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=100)]


def _has_customer(null: bool | None, not_null: bool | None) -> bool | None:
    """``q[customer_id_null]`` and ``q[customer_id_not_null]`` as one answer (Ransack's
    meaning: ``_null=false`` is "not null"); contradicting values are refused."""
    wanted = {not null} if null is not None else set()
    wanted |= {not_null} if not_null is not None else set()
    if len(wanted) > 1:
        raise BadRequest("q[customer_id_null] and q[customer_id_not_null] contradict each other")
    return wanted.pop() if wanted else None


def _digits(wa_id_cont: str | None) -> str | None:
    if wa_id_cont is None:
        return None
    digits = "".join(wa_id_cont.split()).replace("-", "").removeprefix("+")
    if not digits.isascii() or not digits.isdigit():
        raise BadRequest("q[wa_id_cont] takes digits of a phone number, such as 555")
    return digits


@router.get("/whatsapp_contacts", response_model=Page[ContactOut])
async def list_contacts(
    session: DbSession,
    project: CurrentProject,
    customer_id: Annotated[uuid.UUID | None, Query(alias="q[customer_id_eq]")] = None,
    external_id: Annotated[
        str | None, Query(alias="q[customer_external_customer_id_eq]", max_length=200)
    ] = None,
    customer_null: Annotated[bool | None, Query(alias="q[customer_id_null]")] = None,
    customer_not_null: Annotated[bool | None, Query(alias="q[customer_id_not_null]")] = None,
    name: Annotated[str | None, Query(alias="q[profile_name_cont]", max_length=200)] = None,
    wa_id: Annotated[str | None, Query(alias="q[wa_id_cont]", max_length=40)] = None,
    gteq: Annotated[datetime | None, Query(alias="q[created_at_gteq]")] = None,
    lteq: Annotated[datetime | None, Query(alias="q[created_at_lteq]")] = None,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> Page[ContactOut]:
    """The project's contacts, newest first."""
    filters = ContactFilters(
        customer_id=customer_id,
        customer_external_id=external_id,
        has_customer=_has_customer(customer_null, customer_not_null),
        profile_name_contains=name,
        wa_id_contains=_digits(wa_id),
        created_at_gteq=as_utc("created_at_gteq", gteq),
        created_at_lteq=as_utc("created_at_lteq", lteq),
    )
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_contacts(session, project, filters, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.contact(row) for row in rows], meta=meta)


@router.post("/whatsapp_contacts", status_code=201, response_model=Envelope[ContactOut])
async def create_contact(
    body: ContactCreate, session: DbSession, project: CurrentProject
) -> Envelope[ContactOut]:
    """Create a contact; its ``wa_id`` is the phone number's digits."""
    contact = await service.create(session, project, body.contact, utcnow())
    return Envelope(data=presenters.contact(contact))


@router.get("/whatsapp_contacts/{identifier}", response_model=Envelope[ContactOut])
async def get_contact(
    identifier: Identifier, session: DbSession, project: CurrentProject
) -> Envelope[ContactOut]:
    """One contact, by id or phone number."""
    return Envelope(data=presenters.contact(await service.get(session, project, identifier)))


@router.patch("/whatsapp_contacts/{identifier}", response_model=Envelope[ContactOut])
async def update_contact(
    identifier: Identifier, body: ContactUpdate, session: DbSession, project: CurrentProject
) -> Envelope[ContactOut]:
    """Change a contact's profile name or replace its metadata."""
    contact = await service.update(session, project, identifier, body.contact, utcnow())
    return Envelope(data=presenters.contact(contact))


@router.get(
    "/whatsapp_contacts/{identifier}/notes",
    response_model=Page[NoteOut],
    tags=["WhatsApp Contact Notes"],
)
async def list_notes(
    identifier: Identifier,
    session: DbSession,
    project: CurrentProject,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> Page[NoteOut]:
    """The notes about a contact, newest first."""
    params = PageParams(page=page, per_page=per_page)
    rows, total = await service.list_notes(session, project, identifier, params)
    meta = PageMeta.of(page=page, per_page=per_page, total_count=total)
    return Page(data=[presenters.note(row) for row in rows], meta=meta)


@router.post(
    "/whatsapp_contacts/{identifier}/notes",
    status_code=201,
    response_model=Envelope[NoteOut],
    tags=["WhatsApp Contact Notes"],
)
async def create_note(
    identifier: Identifier, body: NoteCreate, session: DbSession, project: CurrentProject
) -> Envelope[NoteOut]:
    """Add a note about a contact."""
    note = await service.add_note(session, project, identifier, body.note, utcnow())
    return Envelope(data=presenters.note(note))


@router.get(
    "/whatsapp_contacts/{identifier}/notes/{note_id}",
    response_model=Envelope[NoteOut],
    tags=["WhatsApp Contact Notes"],
)
async def get_note(
    identifier: Identifier, note_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[NoteOut]:
    """One note about a contact."""
    note = await service.get_note(session, project, identifier, note_id)
    return Envelope(data=presenters.note(note))


@router.patch(
    "/whatsapp_contacts/{identifier}/notes/{note_id}",
    response_model=Envelope[NoteOut],
    tags=["WhatsApp Contact Notes"],
)
async def update_note(
    identifier: Identifier,
    note_id: uuid.UUID,
    body: NoteUpdate,
    session: DbSession,
    project: CurrentProject,
) -> Envelope[NoteOut]:
    """Edit a note's name, content or metadata."""
    note = await service.update_note(session, project, identifier, note_id, body.note, utcnow())
    return Envelope(data=presenters.note(note))


@router.delete(
    "/whatsapp_contacts/{identifier}/notes/{note_id}",
    status_code=204,
    tags=["WhatsApp Contact Notes"],
)
async def delete_note(
    identifier: Identifier, note_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Response:
    """Delete a note."""
    await service.delete_note(session, project, identifier, note_id)
    return Response(status_code=204)
