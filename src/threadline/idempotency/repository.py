"""SQL for idempotency keys."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.clock import utcnow
from threadline.models import IdempotencyKey


async def reserve(session: AsyncSession, project_id: uuid.UUID, key: str, fingerprint: str) -> None:
    """Insert the key as in progress; raises IntegrityError if it already exists.

    On PostgreSQL a concurrent reservation of the same key waits for this transaction
    and then fails, so the second request sees the first one's stored answer.
    """
    session.add(
        IdempotencyKey(
            project_id=project_id,
            key=key,
            fingerprint=fingerprint,
            status_code=0,
            response={},
            created_at=utcnow(),
        )
    )
    await session.flush()


async def store(
    session: AsyncSession, project_id: uuid.UUID, key: str, status_code: int, body: dict[str, Any]
) -> None:
    """Record the answer given to the request that reserved ``key``."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.project_id == project_id, IdempotencyKey.key == key)
        .values(status_code=status_code, response=body)
        .execution_options(synchronize_session=False)
    )


async def find(session: AsyncSession, project_id: uuid.UUID, key: str) -> IdempotencyKey | None:
    """The stored answer for ``key``."""
    statement = select(IdempotencyKey).where(
        IdempotencyKey.project_id == project_id, IdempotencyKey.key == key
    )
    return (await session.execute(statement)).scalar_one_or_none()
