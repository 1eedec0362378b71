"""Functions: a project's HTTP endpoints that ``function`` and ``decide`` nodes call."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Conflict, NotFound
from threadline.functions import repository
from threadline.functions.schemas import FunctionCreateFields
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.models import Function, Project


class FunctionNotFound(NotFound):
    """The function does not exist in this project."""

    error = "Function not found"


@dataclass(frozen=True)
class Endpoint:
    """Where to call a function and the secret to sign the call with."""

    url: str
    secret: str


def slugify(name: str) -> str:
    """``Process Order`` → ``process-order``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "function"


async def create(
    session: AsyncSession, project: Project, cipher: Cipher, fields: FunctionCreateFields
) -> Function:
    """Register a function; its secret is stored encrypted."""
    slug = slugify(fields.name)
    if await repository.find(session, project.id, slug) is not None:
        raise _taken(slug)
    now = utcnow()
    function = Function(
        id=uuid.uuid4(),
        project_id=project.id,
        name=fields.name,
        slug=slug,
        description=fields.description,
        url=str(fields.url),
        secret_encrypted=cipher.encrypt(fields.secret),
        created_at=now,
        updated_at=now,
    )
    if not await repository.insert_unless_taken(session, function):
        raise _taken(slug)
    return function


def _taken(slug: str) -> Conflict:
    return Conflict(f"A function called {slug!r} already exists")


async def get(
    session: AsyncSession, project_id: uuid.UUID, ref: str, *, for_update: bool = False
) -> Function:
    """A function of the project by id or slug (row-locked if ``for_update``)."""
    function = await repository.find(session, project_id, ref, for_update=for_update)
    if function is None:
        raise FunctionNotFound(f"Function {ref!r} not found")
    return function


async def list_functions(session: AsyncSession, project: Project) -> list[Function]:
    """The project's functions."""
    return await repository.list_for(session, project.id)


async def delete(session: AsyncSession, project: Project, ref: str) -> None:
    """Remove a function."""
    await repository.delete(session, await get(session, project.id, ref, for_update=True))


async def endpoint(
    session: AsyncSession, cipher: Cipher, project_id: uuid.UUID, ref: str
) -> Endpoint:
    """The URL and decrypted secret to call a function with."""
    function = await get(session, project_id, ref)
    return Endpoint(url=function.url, secret=cipher.decrypt(function.secret_encrypted))
