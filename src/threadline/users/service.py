"""A project's people: made, listed and removed from the CLI, assigned conversations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.service import issue_key, revoke_user_keys
from threadline.errors import Conflict, NotFound, Unprocessable
from threadline.kit.clock import utcnow
from threadline.models import User
from threadline.users import repository

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserNotFound(NotFound):
    """No user of this project has that id or email."""

    error = "User not found"


class UserExists(Conflict):
    """The project already has a user with that email."""

    error = "User already exists"


class UserStillAssigned(Conflict):
    """The user still holds conversations: end those assignments first."""

    error = "User still assigned"


def normalise_email(email: str) -> str:
    """The email as stored (trimmed, lower case); :class:`Unprocessable` if it is not one."""
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise Unprocessable(f"email {email!r} is not an email address (name@example.com)")
    return cleaned


async def create(session: AsyncSession, project_id: uuid.UUID, *, email: str, name: str) -> User:
    """A new user of the project; a removed user with that email comes back."""
    email, name = normalise_email(email), name.strip()
    if not name or len(name) > 200:
        raise Unprocessable("name must be 1 to 200 characters")
    found = await repository.by_email(session, project_id, email)
    if found is not None and found.removed_at is None:
        raise UserExists(f"the project already has {email} (user {found.id})")
    if found is not None:
        found.removed_at, found.name = None, name
        return found
    user = User(id=uuid.uuid4(), project_id=project_id, email=email, name=name)
    user.created_at = utcnow()
    session.add(user)
    await session.flush()
    return user


async def listed(session: AsyncSession, project_id: uuid.UUID) -> Sequence[User]:
    """The project's current users."""
    return await repository.listed(session, project_id)


async def remove(session: AsyncSession, project_id: uuid.UUID, who: str) -> User:
    """Remove the user named by id or email (their API keys revoked); refused while it
    holds conversations."""
    user = await find(session, project_id, who)
    if user is None or user.removed_at is not None:
        raise UserNotFound(f"the project has no user {who!r}")
    held = await repository.active_assignments(session, user)
    if held:
        raise UserStillAssigned(
            f"{user.email} holds {held} conversation(s): end those assignments first "
            '(PATCH .../conversation_assignments/{id} {"conversation_assignment": '
            '{"active": false}})'
        )
    user.removed_at = utcnow()
    await revoke_user_keys(session, project_id, user.id)
    return user


async def issue_user_key(
    session: AsyncSession, project_id: uuid.UUID, who: str, *, name: str
) -> tuple[User, str]:
    """A new API key issued to the user named by id or email: what it creates is shown
    as created by them (``created_by_user_id``); removing the user revokes it."""
    user = await find(session, project_id, who)
    if user is None or user.removed_at is not None:
        raise UserNotFound(f"the project has no user {who!r}")
    return user, issue_key(session, project_id, name=name, user_id=user.id)


async def find(session: AsyncSession, project_id: uuid.UUID, who: str) -> User | None:
    """The project's user whose id or email is ``who`` (removed ones too)."""
    try:
        return await repository.by_id(session, project_id, uuid.UUID(who))
    except ValueError:
        return await repository.by_email(session, project_id, who.strip().lower())


async def assignable(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """The user a conversation may be assigned to: of this project, not removed."""
    user = await repository.by_id(session, project_id, user_id)
    if user is None or user.removed_at is not None:
        raise Unprocessable(
            f"user_id {user_id} is not a user of this project: add one with "
            "`threadline users create --project <project_id> --email ... --name ...`"
        )
    return user
