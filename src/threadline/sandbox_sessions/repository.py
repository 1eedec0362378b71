"""SQL for sandbox sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import fetch_page
from threadline.kit.schemas import PageParams
from threadline.kit.sql import insert_ignoring_conflict
from threadline.models import SandboxSession

PENDING = "pending_activation"
ACTIVE = "active"


async def get(
    session: AsyncSession, project_id: uuid.UUID, session_id: uuid.UUID
) -> SandboxSession | None:
    """A sandbox session of the project, or None."""
    statement = select(SandboxSession).where(
        SandboxSession.id == session_id, SandboxSession.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def by_code(session: AsyncSession, code: str) -> SandboxSession | None:
    """The session with this activation code, as the database has it now."""
    statement = (
        select(SandboxSession)
        .where(SandboxSession.activation_code == code)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for(
    session: AsyncSession, project_id: uuid.UUID, page: PageParams
) -> tuple[list[SandboxSession], int]:
    """A page of the project's sessions, newest first; and how many there are in all."""
    statement = (
        select(SandboxSession)
        .where(SandboxSession.project_id == project_id)
        .order_by(SandboxSession.created_at.desc(), SandboxSession.id)
    )
    return await fetch_page(session, statement, page)


async def insert_if_code_free(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a session unless its activation code is taken; True if it was inserted."""
    return await insert_ignoring_conflict(
        session, SandboxSession, values, conflict_on=("activation_code",)
    )


async def claim(session: AsyncSession, code: str, phone_number: str, now: datetime) -> bool:
    """Make the pending, unexpired session with ``code`` active for ``phone_number``.

    One conditional UPDATE: of concurrent claims of one code, the row lock lets exactly
    one see the session still pending; True for that one.
    """
    statement = (
        update(SandboxSession)
        .where(
            SandboxSession.activation_code == code,
            SandboxSession.status == PENDING,
            (SandboxSession.expires_at.is_(None)) | (SandboxSession.expires_at > now),
        )
        .values(
            status=ACTIVE,
            phone_number=phone_number,
            activated_at=now,
            expires_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def end_others(
    session: AsyncSession, phone_number: str, keep: uuid.UUID, now: datetime
) -> None:
    """End every other live session of the phone, whatever its project (it moved)."""
    await session.execute(
        update(SandboxSession)
        .where(
            SandboxSession.phone_number == phone_number,
            SandboxSession.status == ACTIVE,
            SandboxSession.expires_at.is_(None),
            SandboxSession.id != keep,
        )
        .values(expires_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def newest_active(session: AsyncSession, phone_number: str) -> SandboxSession | None:
    """The phone's newest live active session, in any project."""
    statement = (
        select(SandboxSession)
        .where(
            SandboxSession.phone_number == phone_number,
            SandboxSession.status == ACTIVE,
            SandboxSession.expires_at.is_(None),
        )
        .order_by(SandboxSession.activated_at.desc(), SandboxSession.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def pending_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Which of ``codes`` are the codes of pending sessions (one statement for many)."""
    if not codes:
        return set()
    statement = select(SandboxSession.activation_code).where(
        SandboxSession.activation_code.in_(codes), SandboxSession.status == PENDING
    )
    return set((await session.execute(statement)).scalars())


async def newest_active_of(
    session: AsyncSession, phone_numbers: list[str]
) -> dict[str, SandboxSession]:
    """:func:`newest_active` for several phones in one statement (phones with none left out)."""
    if not phone_numbers:
        return {}
    statement = (
        select(SandboxSession)
        .where(
            SandboxSession.phone_number.in_(phone_numbers),
            SandboxSession.status == ACTIVE,
            SandboxSession.expires_at.is_(None),
        )
        .order_by(SandboxSession.activated_at.desc(), SandboxSession.id.desc())
    )
    newest: dict[str, SandboxSession] = {}
    for row in (await session.execute(statement)).scalars():
        newest.setdefault(row.phone_number, row)
    return newest
