"""Projects: creating them (with a first API key) and reading them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.service import issue_key
from threadline.errors import NotFound
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.models import Project
from threadline.projects import repository
from threadline.whatsapp_configs.service import add_sandbox_config


class ProjectNotFound(NotFound):
    """The project does not exist, or the API key belongs to another one."""

    error = "Project not found"


@dataclass(frozen=True)
class NewProject:
    """A created project and its API key, shown this once."""

    project: Project
    api_key: str


async def create(
    session: AsyncSession, cipher: Cipher, *, name: str, with_sandbox: bool = True
) -> NewProject:
    """Create a project with an API key and (unless told not to) a default sandbox config."""
    now = utcnow()
    project = Project(id=uuid.uuid4(), name=name, created_at=now, updated_at=now)
    repository.add(session, project)
    await session.flush()
    api_key = issue_key(session, project.id)
    if with_sandbox:
        add_sandbox_config(session, project, cipher)
    await session.flush()
    return NewProject(project=project, api_key=api_key)


async def bootstrap(session: AsyncSession, cipher: Cipher) -> NewProject | None:
    """On an empty database, create the default project; otherwise do nothing."""
    await repository.lock_bootstrap(session)
    if await repository.count(session) > 0:
        return None
    return await create(session, cipher, name="Default project")


def get_own(caller: Project, project_id: uuid.UUID) -> Project:
    """The caller's own project; any other id is not found."""
    if project_id != caller.id:
        raise ProjectNotFound()
    return caller
