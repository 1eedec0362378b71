"""kit.sql's inserts on a unique key, on both databases: the key decides, never an error."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from builders import create_project
from threadline.contacts.repository import new_contact_values
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.kit.sql import (
    insert_ignoring_conflict,
    insert_many_ignoring_conflict,
    insert_returning_unless_conflict,
)
from threadline.models import WhatsappContact

KEY = ("project_id", "wa_id")


async def _project_id(resources: Resources, sandbox_url: str) -> uuid.UUID:
    return uuid.UUID((await create_project(resources, sandbox_url)).id)


async def _insert_returning(resources: Resources, values: dict[str, object]) -> object:
    async with resources.db.transaction() as session:
        return await insert_returning_unless_conflict(
            session, WhatsappContact, values, conflict_on=KEY
        )


async def test_the_returning_insert_gives_the_new_row_in_the_session_or_none(
    resources: Resources, sandbox_url: str
) -> None:
    project_id = await _project_id(resources, sandbox_url)
    values = new_contact_values(project_id, "15550001111", "Ana", utcnow())
    async with resources.db.transaction() as session:
        contact = await insert_returning_unless_conflict(
            session, WhatsappContact, values, conflict_on=KEY
        )
        assert isinstance(contact, WhatsappContact)
        assert (contact.id, contact.wa_id, contact.profile_name) == (
            values["id"],
            "15550001111",
            "Ana",
        )
        assert contact.meta == {}  # the column named "metadata", as the row has it
        assert await session.get(WhatsappContact, contact.id) is contact
        contact.profile_name = "Ana B."  # a row of the session: flushed at the commit

    again = new_contact_values(project_id, "15550001111", "Someone else", utcnow())
    assert await _insert_returning(resources, again) is None
    async with resources.db.session() as session:
        rows = (await session.scalars(select(WhatsappContact))).all()
    assert [(row.id, row.profile_name) for row in rows] == [(values["id"], "Ana B.")]


async def test_a_returning_insert_waits_for_a_concurrent_one_of_its_key_and_yields(
    resources: Resources, sandbox_url: str
) -> None:
    """The other transaction's row is not committed yet: the key decides once it is."""
    project_id = await _project_id(resources, sandbox_url)
    mine = new_contact_values(project_id, "15550002222", None, utcnow())
    theirs = new_contact_values(project_id, "15550002222", None, utcnow())
    async with resources.db.transaction() as session:
        assert await insert_ignoring_conflict(session, WhatsappContact, mine, conflict_on=KEY)
        racing = asyncio.create_task(_insert_returning(resources, theirs))
        await asyncio.sleep(0.3)
        assert not racing.done()  # held by the uncommitted row (SQLite: by its write lock)

    assert await asyncio.wait_for(racing, 10) is None


async def test_many_rows_insert_in_one_call_and_skip_the_taken_keys(
    resources: Resources, sandbox_url: str
) -> None:
    project_id = await _project_id(resources, sandbox_url)
    now = utcnow()
    taken = new_contact_values(project_id, "15550003333", "First", now)
    async with resources.db.transaction() as session:
        assert await insert_ignoring_conflict(session, WhatsappContact, taken, conflict_on=KEY)
        assert not await insert_ignoring_conflict(session, WhatsappContact, taken, conflict_on=KEY)
    rows = [new_contact_values(project_id, f"1555000{n}", "New", now) for n in (3333, 4444, 5555)]
    async with resources.db.transaction() as session:
        await insert_many_ignoring_conflict(session, WhatsappContact, rows, conflict_on=KEY)

    async with resources.db.session() as session:
        found = (
            await session.execute(select(WhatsappContact.wa_id, WhatsappContact.profile_name))
        ).all()
    assert sorted(found) == [
        ("15550003333", "First"),
        ("15550004444", "New"),
        ("15550005555", "New"),
    ]
