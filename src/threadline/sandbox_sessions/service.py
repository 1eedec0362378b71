"""Sandbox sessions: a test phone joins a project by sending a code to the sandbox number.

A session is created for a phone with a fresh activation code and is pending until a
message whose text is that code reaches the sandbox number; it then becomes active for
the phone that sent it, and that phone's messages on the sandbox belong to the project.
A phone belongs to one project at a time: activating another code ends its other active
sessions (their ``expires_at`` is set to that moment). A code not used within
``ACTIVATION_WINDOW`` expires. A session works while its ``expires_at`` is unset or ahead.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import SANDBOX_IDENTITY
from threadline.contacts import phones
from threadline.errors import AppError, NotFound, Unprocessable
from threadline.kit.schemas import PageParams
from threadline.models import Project, SandboxSession, WhatsappConfig
from threadline.sandbox_sessions import repository
from threadline.whatsapp_configs.service import SANDBOX_KIND, list_for

#: How long an activation code can be used (the reference says nothing; a day).
ACTIVATION_WINDOW = timedelta(hours=24)
#: No 0/O or 1/I/L: people type these codes from a screen.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
_CODE_ATTEMPTS = 8
#: The column's width: longer text is never a code.
MAX_CODE_LENGTH = 16


class SandboxSessionNotFound(NotFound):
    """The sandbox session does not exist in this project."""

    error = "Sandbox session not found"


class NoSandboxConfig(Unprocessable):
    """The project has no sandbox WhatsApp config to connect a test phone to."""


def new_code() -> str:
    """A random activation code such as ``K7QX2M``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """A code as it is compared: surrounding spaces dropped, case ignored."""
    return text.strip().upper()


async def create(
    session: AsyncSession,
    project: Project,
    *,
    phone_number: str,
    agent_id: uuid.UUID | None,
    now: datetime,
) -> SandboxSession:
    """A pending session for ``phone_number`` on the project's sandbox number."""
    wa_id = phones.normalise(phone_number)
    config = await _sandbox_config(session, project)
    for _ in range(_CODE_ATTEMPTS):
        session_id = uuid.uuid4()
        values = _new_row(session_id, project, config, wa_id, agent_id, now)
        if await repository.insert_if_code_free(session, values):
            created = await repository.get(session, project.id, session_id)
            assert created is not None  # inserted just now, in this transaction
            return created
    raise AppError("Could not draw a free activation code; try again")


async def get(session: AsyncSession, project: Project, session_id: uuid.UUID) -> SandboxSession:
    """One session of the project."""
    found = await repository.get(session, project.id, session_id)
    if found is None:
        raise SandboxSessionNotFound()
    return found


async def list_sessions(
    session: AsyncSession, project: Project, *, page: PageParams
) -> tuple[list[SandboxSession], int]:
    """A page of the project's sessions, newest first, and their total count."""
    return await repository.list_for(session, project.id, page)


async def activate(
    session: AsyncSession, *, code: str, phone_number: str, now: datetime
) -> SandboxSession | None:
    """The pending, unexpired session whose code is ``code``, made active for the phone.

    ``code`` is compared case-insensitively, surrounding spaces ignored. The phone's
    other active sessions end (one project per sandbox phone). None if no session
    matches, or if a concurrent activation of the same code won.
    """
    key = normalise_code(code)
    if not phones.is_phone_number(phone_number) or not 0 < len(key) <= MAX_CODE_LENGTH:
        return None
    wa_id = phones.normalise(phone_number)
    if not await repository.claim(session, key, wa_id, now):
        return None
    activated = await repository.by_code(session, key)
    assert activated is not None  # claimed just now, in this transaction
    await repository.end_others(session, wa_id, activated.id, now)
    return activated


async def active_for_phone(session: AsyncSession, phone_number: str) -> SandboxSession | None:
    """The active session of the phone (the newest if several), in whichever project."""
    if not phones.is_phone_number(phone_number):
        return None
    return await repository.newest_active(session, phones.normalise(phone_number))


async def pending_codes(session: AsyncSession, texts: list[str]) -> set[str]:
    """Of ``texts``, the normalised codes of pending sessions (what :func:`activate` may take)."""
    codes = {normalise_code(text) for text in texts}
    codes = {code for code in codes if 0 < len(code) <= MAX_CODE_LENGTH}
    return await repository.pending_codes(session, sorted(codes))


async def active_for_phones(
    session: AsyncSession, phone_numbers: list[str]
) -> dict[str, SandboxSession | None]:
    """:func:`active_for_phone` of each phone, in one statement."""
    valid = {phone: phones.normalise(phone) for phone in phone_numbers}
    valid = {phone: wa for phone, wa in valid.items() if phones.is_phone_number(phone)}
    newest = await repository.newest_active_of(session, sorted(set(valid.values())))
    return {phone: newest.get(valid[phone]) if phone in valid else None for phone in phone_numbers}


def is_live(row: SandboxSession, now: datetime) -> bool:
    """Whether the session still works (its code can be used, or its phone is connected)."""
    return row.expires_at is None or row.expires_at > now


def activation_message(row: SandboxSession) -> str:
    """What to tell the person who holds the test phone."""
    return f"Your WhatsApp Sandbox activation code is: {row.activation_code}"


def activation_link(row: SandboxSession) -> str:
    """A wa.me link that opens a chat with the sandbox number, the code typed in."""
    number = phones.normalise(SANDBOX_IDENTITY.display_phone_number)
    return f"https://wa.me/{number}?text={row.activation_code}"


async def _sandbox_config(session: AsyncSession, project: Project) -> WhatsappConfig:
    configs = [c for c in await list_for(session, project) if c.kind == SANDBOX_KIND]
    if not configs:
        raise NoSandboxConfig()
    return min(configs, key=lambda c: (not c.is_default, c.created_at))


def _new_row(
    session_id: uuid.UUID,
    project: Project,
    config: WhatsappConfig,
    wa_id: str,
    agent_id: uuid.UUID | None,
    now: datetime,
) -> dict[str, object]:
    return {
        "id": session_id,
        "project_id": project.id,
        "whatsapp_config_id": config.id,
        "phone_number": wa_id,
        "activation_code": new_code(),
        "status": repository.PENDING,
        "agent_id": agent_id,
        "activated_at": None,
        "expires_at": now + ACTIVATION_WINDOW,
        "created_at": now,
        "updated_at": now,
    }
