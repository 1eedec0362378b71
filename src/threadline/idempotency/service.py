"""``Idempotency-Key``: a retried request gets the first answer instead of a second effect."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Conflict, Unprocessable
from threadline.idempotency import repository
from threadline.models import Project

Answer = tuple[int, dict[str, Any]]


class IdempotencyKeyReused(Unprocessable):
    """This Idempotency-Key was already used for a different request."""

    error = "Idempotency key reused"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What identifies a request for the purpose of its key."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def run_once(
    session: AsyncSession,
    project: Project,
    key: str | None,
    request_fingerprint: str,
    operation: Callable[[], Awaitable[Answer]],
) -> Answer:
    """Run ``operation`` once per key; later requests with the key get its answer."""
    if not key:
        return await operation()
    if len(key) > 255:
        raise Unprocessable("Idempotency-Key must be at most 255 characters")
    project_id = project.id  # read before a rollback expires the instance
    try:
        await repository.reserve(session, project_id, key, request_fingerprint)
    except IntegrityError:
        await session.rollback()
        return await _replay(session, project_id, key, request_fingerprint)
    status_code, body = await operation()
    await repository.store(session, project_id, key, status_code, body)
    return status_code, body


async def _replay(
    session: AsyncSession, project_id: uuid.UUID, key: str, request_fingerprint: str
) -> Answer:
    stored = await repository.find(session, project_id, key)
    if stored is None or stored.status_code == 0:
        raise Conflict("A request with this Idempotency-Key is still in progress")
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused()
    return stored.status_code, stored.response
