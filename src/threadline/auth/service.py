"""API keys: issuing them and finding who a presented key belongs to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import repository
from threadline.errors import Unauthorized
from threadline.kit.clock import utcnow
from threadline.kit.crypto import api_key_digest, new_api_key
from threadline.models import ApiKey, Project


@dataclass(frozen=True)
class Caller:
    """Who presented a key: its project, and the person it was issued to (if any)."""

    project: Project
    user_id: uuid.UUID | None


async def authenticate(session: AsyncSession, api_key: str | None) -> Caller:
    """The caller of ``api_key``; :class:`Unauthorized` if it is missing, unknown or
    revoked."""
    if not api_key:
        raise Unauthorized()
    found = await repository.key_for_digest(session, api_key_digest(api_key))
    if found is None:
        raise Unauthorized()
    return Caller(*found)


def issue_key(
    session: AsyncSession,
    project_id: uuid.UUID,
    *,
    name: str = "default",
    user_id: uuid.UUID | None = None,
) -> str:
    """Create a key for the project (issued to ``user_id`` if given); the plaintext is
    returned once and never stored."""
    plaintext = new_api_key()
    repository.add_key(
        session,
        ApiKey(
            project_id=project_id,
            name=name,
            prefix=plaintext[:10],
            key_digest=api_key_digest(plaintext),
            created_at=utcnow(),
            user_id=user_id,
        ),
    )
    return plaintext


async def revoke_user_keys(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Revoke the keys issued to a user (as the user is removed)."""
    return await repository.revoke_user_keys(session, project_id, user_id, utcnow())
