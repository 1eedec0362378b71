"""Sandbox sessions: a test phone joins a project by sending its code to the sandbox number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import SandboxSession


async def activate(
    session: AsyncSession, *, code: str, phone_number: str, now: datetime
) -> SandboxSession | None:
    """The pending, unexpired session whose code the phone sent becomes active for it."""
    statement = (
        select(SandboxSession)
        .where(
            func.upper(SandboxSession.activation_code) == code.strip().upper(),
            SandboxSession.status == "pending_activation",
            or_(SandboxSession.expires_at.is_(None), SandboxSession.expires_at > now),
        )
        .with_for_update()
    )
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        return None
    found.status, found.phone_number = "active", phone_number
    found.activated_at = found.updated_at = now
    return found


async def active_for_phone(session: AsyncSession, phone_number: str) -> SandboxSession | None:
    """The phone's active session (the newest if several)."""
    statement = (
        select(SandboxSession)
        .where(SandboxSession.phone_number == phone_number, SandboxSession.status == "active")
        .order_by(SandboxSession.activated_at.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
