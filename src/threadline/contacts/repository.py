"""SQL for contacts and their notes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import CreatedRange, contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.kit.sql import (
    insert_ignoring_conflict,
    insert_many_ignoring_conflict,
    insert_returning_unless_conflict,
)
from threadline.models import Customer, WhatsappContact, WhatsappContactNote


@dataclass(frozen=True)
class ContactFilters:
    """The ``q[...]`` filters of the contact list, parsed (None: not filtered)."""

    customer_id: uuid.UUID | None = None
    customer_external_id: str | None = None
    has_customer: bool | None = None
    profile_name_contains: str | None = None
    wa_id_contains: str | None = None
    created: CreatedRange = field(default_factory=CreatedRange)


#: The unique key a new contact may collide on.
_CONTACT_KEY = ("project_id", "wa_id")
#: Built once: every first message and every start reads the contact.
_BY_WA_ID = select(WhatsappContact).where(
    WhatsappContact.project_id == bindparam("project_id"),
    WhatsappContact.wa_id == bindparam("wa_id"),
)


async def by_wa_id(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str
) -> WhatsappContact | None:
    """The project's contact with this WhatsApp id."""
    params = {"project_id": project_id, "wa_id": wa_id}
    return (await session.execute(_BY_WA_ID, params)).scalar_one_or_none()


async def by_id(
    session: AsyncSession, project_id: uuid.UUID, contact_id: uuid.UUID
) -> WhatsappContact | None:
    """The project's contact with this id."""
    statement = select(WhatsappContact).where(
        WhatsappContact.project_id == project_id, WhatsappContact.id == contact_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def insert_if_absent(
    session: AsyncSession, project_id: uuid.UUID, wa_id: str, name: str | None, now: datetime
) -> WhatsappContact | None:
    """Create the contact unless it exists (concurrent first messages make one row); the
    new contact, or None if it existed."""
    values = new_contact_values(project_id, wa_id, name, now)
    contact: WhatsappContact | None = await insert_returning_unless_conflict(
        session, WhatsappContact, values, conflict_on=_CONTACT_KEY
    )
    return contact


def new_contact_values(
    project_id: uuid.UUID, wa_id: str, name: str | None, now: datetime
) -> dict[str, Any]:
    """The columns of a new contact row, ready for ``insert_contact``."""
    return {
        "id": uuid.uuid4(),
        "project_id": project_id,
        "wa_id": wa_id,
        "profile_name": name,
        "customer_id": None,
        "metadata": {},
        "created_at": now,
        "updated_at": now,
    }


async def insert_contact(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a contact unless the project has that ``wa_id``; True if it was inserted."""
    return await insert_ignoring_conflict(
        session, WhatsappContact, values, conflict_on=_CONTACT_KEY
    )


async def insert_contacts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """:func:`insert_contact` for several contacts, in one call."""
    await insert_many_ignoring_conflict(session, WhatsappContact, rows, conflict_on=_CONTACT_KEY)


async def customer_exists(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID
) -> bool:
    """Whether the project has this customer."""
    statement = select(Customer.id).where(
        Customer.project_id == project_id, Customer.id == customer_id
    )
    return (await session.execute(statement)).first() is not None


def _conditions(project_id: uuid.UUID, filters: ContactFilters) -> list[ColumnElement[bool]]:
    contact = WhatsappContact
    conditions = [contact.project_id == project_id]
    if filters.customer_id is not None:
        conditions.append(contact.customer_id == filters.customer_id)
    if filters.customer_external_id is not None:
        customers = select(Customer.id).where(
            Customer.project_id == project_id,
            Customer.external_customer_id == filters.customer_external_id,
        )
        conditions.append(contact.customer_id.in_(customers))
    if filters.has_customer is not None:
        has = contact.customer_id.is_not(None)
        conditions.append(has if filters.has_customer else contact.customer_id.is_(None))
    if filters.profile_name_contains is not None:
        conditions.append(contains(contact.profile_name, filters.profile_name_contains))
    if filters.wa_id_contains is not None:
        conditions.append(contains(contact.wa_id, filters.wa_id_contains))
    return conditions + filters.created.conditions(contact.created_at)


async def list_contacts(
    session: AsyncSession, project_id: uuid.UUID, filters: ContactFilters, page: PageParams
) -> tuple[list[WhatsappContact], int]:
    """A page of the project's contacts that pass ``filters``, newest first, and the total."""
    statement = (
        select(WhatsappContact)
        .where(*_conditions(project_id, filters))
        .order_by(WhatsappContact.created_at.desc(), WhatsappContact.id)
    )
    return await fetch_page(session, statement, page)


async def note(
    session: AsyncSession, contact: WhatsappContact, note_id: uuid.UUID
) -> WhatsappContactNote | None:
    """A note about ``contact``, or None."""
    statement = select(WhatsappContactNote).where(
        WhatsappContactNote.id == note_id,
        WhatsappContactNote.contact_id == contact.id,
        WhatsappContactNote.project_id == contact.project_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_notes(
    session: AsyncSession, contact: WhatsappContact, page: PageParams
) -> tuple[list[WhatsappContactNote], int]:
    """A page of the notes about ``contact``, newest first, and how many there are."""
    statement = (
        select(WhatsappContactNote)
        .where(
            WhatsappContactNote.contact_id == contact.id,
            WhatsappContactNote.project_id == contact.project_id,
        )
        .order_by(WhatsappContactNote.created_at.desc(), WhatsappContactNote.id)
    )
    return await fetch_page(session, statement, page)


def add(session: AsyncSession, row: WhatsappContactNote) -> None:
    """Stage a new note."""
    session.add(row)


async def delete_note(session: AsyncSession, note_row: WhatsappContactNote) -> None:
    """Remove a note."""
    await session.delete(note_row)


async def by_wa_ids(
    session: AsyncSession, project_id: uuid.UUID, wa_ids: list[str]
) -> dict[str, WhatsappContact]:
    """The project's contacts with these WhatsApp ids (one statement), by wa_id."""
    if not wa_ids:
        return {}
    statement = select(WhatsappContact).where(
        WhatsappContact.project_id == project_id, WhatsappContact.wa_id.in_(wa_ids)
    )
    return {row.wa_id: row for row in (await session.execute(statement)).scalars()}
