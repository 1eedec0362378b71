"""Contacts: made by a user's first message or through the API, and the notes kept on them.

A contact is named in the API by its id or by its phone number (``{identifier}``); a
phone number in any usual notation is normalised to the ``wa_id`` WhatsApp uses.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.contacts import phones, repository
from threadline.contacts.repository import ContactFilters
from threadline.contacts.schemas import (
    ContactCreateFields,
    ContactUpdateFields,
    NoteCreateFields,
    NoteUpdateFields,
)
from threadline.errors import NotFound, Unprocessable
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappContact, WhatsappContactNote


class ContactNotFound(NotFound):
    """No contact of this project has that id or phone number."""

    error = "Contact not found"


class NoteNotFound(NotFound):
    """The note does not exist on this contact."""

    error = "Note not found"


class ContactExists(Unprocessable):
    """The project already has a contact with this phone number; update that one instead."""

    def body(self) -> dict[str, Any]:
        """The reference's body for a taken ``wa_id``, plus ``{error, status, message}``."""
        return {**super().body(), "errors": ["Wa_id has already been taken"]}


class UnknownCustomer(Unprocessable):
    """customer_id names no customer of this project."""

    error = "Invalid customer"


async def for_inbound(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str, name: str | None, now: datetime
) -> WhatsappContact:
    """The contact a message from ``wa_id`` belongs to, made or renamed as needed."""
    contact = await repository.by_wa_id(session, project_id, wa_id)
    if contact is None:
        contact = await repository.insert_if_absent(session, project_id, wa_id, name, now)
    if contact is None:  # a concurrent message inserted it first
        contact = await repository.by_wa_id(session, project_id, wa_id)
        assert contact is not None
    if name and contact.profile_name != name:
        contact.profile_name = name
        contact.updated_at = now
    return contact


async def for_inbound_many(
    session: AsyncSession, project_id: uuid.UUID, names: dict[str, str | None], now: datetime
) -> dict[str, WhatsappContact]:
    """:func:`for_inbound` for several senders (``wa_id`` → profile name): read at once, the
    missing ones made in one statement and read again."""
    found = await repository.by_wa_ids(session, project_id, sorted(names))
    missing = [wa_id for wa_id in sorted(names) if wa_id not in found]
    if missing:
        rows = [repository.new_contact_values(project_id, w, names[w], now) for w in missing]
        await repository.insert_contacts(session, rows)
        found.update(await repository.by_wa_ids(session, project_id, missing))
    for wa_id, name in names.items():
        contact = found[wa_id]
        if name and contact.profile_name != name:
            contact.profile_name = name
            contact.updated_at = now
    return found


async def for_phone(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str, now: datetime
) -> WhatsappContact:
    """The contact of a phone the project writes to first (no profile name known yet)."""
    return await for_inbound(session, project_id, wa_id, None, now)


async def list_contacts(
    session: AsyncSession, project: Project, filters: ContactFilters, page: PageParams
) -> tuple[list[WhatsappContact], int]:
    """A page of the project's contacts, newest first, and how many pass the filters."""
    return await repository.list_contacts(session, project.id, filters, page)


async def create(
    session: AsyncSession, project: Project, fields: ContactCreateFields, now: datetime
) -> WhatsappContact:
    """A new contact; a phone number the project already has is refused (422)."""
    wa_id = phones.normalise(fields.wa_id)
    if fields.customer_id is not None:
        await _check_customer(session, project, fields.customer_id)
    values = repository.new_contact_values(project.id, wa_id, fields.profile_name, now)
    values.update(customer_id=fields.customer_id, metadata=fields.metadata or {})
    if not await repository.insert_contact(session, values):
        raise ContactExists(details=f"A contact with wa_id {wa_id} exists")
    contact = await repository.by_id(session, project.id, values["id"])
    assert contact is not None  # inserted just now, in this transaction
    return contact


async def get(session: AsyncSession, project: Project, identifier: str) -> WhatsappContact:
    """The contact named by ``identifier``: its id (a UUID) or its phone number."""
    contact_id = _as_uuid(identifier)
    if contact_id is not None:
        contact = await repository.by_id(session, project.id, contact_id)
    else:
        contact = await repository.by_wa_id(session, project.id, _wa_id(identifier))
    if contact is None:
        raise ContactNotFound()
    return contact


async def update(
    session: AsyncSession,
    project: Project,
    identifier: str,
    fields: ContactUpdateFields,
    now: datetime,
) -> WhatsappContact:
    """Rename a contact, (un)assign its customer or replace its metadata; fields left out
    stay as they are."""
    contact = await get(session, project, identifier)
    if "customer_id" in fields.model_fields_set:
        if fields.customer_id is not None:
            await _check_customer(session, project, fields.customer_id)
        contact.customer_id = fields.customer_id
    if "profile_name" in fields.model_fields_set:
        contact.profile_name = fields.profile_name
    if fields.metadata is not None:
        contact.meta = fields.metadata
    contact.updated_at = now
    await session.flush()
    return contact


async def list_notes(
    session: AsyncSession, project: Project, identifier: str, page: PageParams
) -> tuple[list[WhatsappContactNote], int]:
    """A page of the notes about a contact, newest first, and how many there are."""
    contact = await get(session, project, identifier)
    return await repository.list_notes(session, contact, page)


async def add_note(
    session: AsyncSession,
    project: Project,
    identifier: str,
    fields: NoteCreateFields,
    now: datetime,
) -> WhatsappContactNote:
    """A new note about a contact."""
    contact = await get(session, project, identifier)
    note = WhatsappContactNote(
        id=uuid.uuid4(),
        project_id=project.id,
        contact_id=contact.id,
        name=fields.name,
        content=fields.content,
        meta=fields.metadata or {},
        created_at=now,
        updated_at=now,
    )
    repository.add(session, note)
    await session.flush()
    return note


async def get_note(
    session: AsyncSession, project: Project, identifier: str, note_id: uuid.UUID
) -> WhatsappContactNote:
    """One note about a contact."""
    contact = await get(session, project, identifier)
    note = await repository.note(session, contact, note_id)
    if note is None:
        raise NoteNotFound()
    return note


async def update_note(
    session: AsyncSession,
    project: Project,
    identifier: str,
    note_id: uuid.UUID,
    fields: NoteUpdateFields,
    now: datetime,
) -> WhatsappContactNote:
    """Edit a note; fields left out stay as they are, ``metadata`` is replaced."""
    if "content" in fields.model_fields_set and fields.content is None:
        raise Unprocessable("A note's content cannot be null; leave it out to keep it")
    note = await get_note(session, project, identifier, note_id)
    if "name" in fields.model_fields_set:
        note.name = fields.name
    if fields.content is not None:
        note.content = fields.content
    if fields.metadata is not None:
        note.meta = fields.metadata
    note.updated_at = now
    await session.flush()
    return note


async def delete_note(
    session: AsyncSession, project: Project, identifier: str, note_id: uuid.UUID
) -> None:
    """Remove a note."""
    note = await get_note(session, project, identifier, note_id)
    await repository.delete_note(session, note)
    await session.flush()


async def _check_customer(session: AsyncSession, project: Project, customer_id: uuid.UUID) -> None:
    if not await repository.customer_exists(session, project.id, customer_id):
        raise UnknownCustomer(details=f"No customer {customer_id} in this project")


def _as_uuid(identifier: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(identifier)
    except ValueError:
        return None


def _wa_id(identifier: str) -> str:
    try:
        return phones.normalise(identifier)
    except phones.InvalidPhoneNumber:
        raise phones.InvalidPhoneNumber(
            "Name the contact by its id (a UUID) or its phone number (5 to 15 digits)",
            details=f"{identifier!r} is neither",
        ) from None
