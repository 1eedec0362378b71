"""API keys: issuing them and finding the project a presented key belongs to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import repository
from threadline.errors import Unauthorized
from threadline.kit.clock import utcnow
from threadline.kit.crypto import api_key_digest, new_api_key
from threadline.models import ApiKey, Project


async def authenticate(session: AsyncSession, api_key: str | None) -> Project:
    """The project of ``api_key``; :class:`Unauthorized` if it is missing or unknown."""
    if not api_key:
        raise Unauthorized()
    project = await repository.project_for_digest(session, api_key_digest(api_key))
    if project is None:
        raise Unauthorized()
    return project


def issue_key(session: AsyncSession, project: Project, *, name: str = "default") -> str:
    """Create a key for ``project``; the plaintext is returned once and never stored."""
    plaintext = new_api_key()
    repository.add_key(
        session,
        ApiKey(
            project_id=project.id,
            name=name,
            prefix=plaintext[:10],
            key_digest=api_key_digest(plaintext),
            created_at=utcnow(),
        ),
    )
    return plaintext
