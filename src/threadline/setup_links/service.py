"""Setup links: the rules of creating, changing and opening a customer's onboarding link.

A customer has at most one active link: creating one ends the others in the same
transaction (under a lock on the customer's row; a partial unique index makes it a
constraint). A link lasts ``LINK_LIFETIME``; past ``expires_at`` it reads as expired.
Its token is drawn at random and is the only credential of the page it opens.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.errors import AppError, NotFound, Unprocessable
from threadline.kit import clock
from threadline.kit.crypto import Cipher
from threadline.kit.schemas import PageParams
from threadline.models import SetupLink
from threadline.setup_links import repository
from threadline.setup_links.repository import ACTIVE, EXPIRED, REVOKED, USED
from threadline.setup_links.schemas import (
    DEFAULT_THEME,
    SetupLinkFields,
    SetupLinkUpdateFields,
)

#: How long a new link works (the reference: 30 days).
LINK_LIFETIME = timedelta(days=30)
#: Where the page a link opens is served.
PAGE_PATH = "/setup"
_DEFAULT_TYPES = ["coexistence", "dedicated"]


class CustomerNotFound(NotFound):
    """The customer does not exist in this project."""

    error = "Customer not found"


class SetupLinkNotFound(NotFound):
    """The setup link does not exist for this customer."""

    error = "Setup link not found"


class SetupLinkGone(AppError):
    """This setup link can no longer be used: ask for a new one."""

    status_code = 410
    error = "Setup link no longer valid"


class InvalidSetupLink(Unprocessable):
    """The setup link is not valid."""

    error = "Invalid setup link"

    @classmethod
    def of(cls, field: str, why: str) -> InvalidSetupLink:
        """The error naming ``setup_link.<field>`` and what to change."""
        located = f"setup_link.{field}"
        error = cls(f"{located}: {why}", errors=[{"field": located, "message": why}])
        error.details = error.message
        return error


def digest(token: str) -> str:
    """How a token is looked up: its SHA-256 digest (the plain token is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def status_of(link: SetupLink, now: datetime) -> str:
    """The link's status as read: an active link past ``expires_at`` is expired."""
    if link.status == ACTIVE and link.expires_at <= now:
        return EXPIRED
    return link.status


def url_of(link: SetupLink, cipher: Cipher, settings: Settings) -> str:
    """The page the link opens, on this server's public URL."""
    token = cipher.decrypt(link.token_encrypted)
    return f"{settings.base_url().rstrip('/')}{PAGE_PATH}/{token}"


def theme_of(link: SetupLink) -> dict[str, str]:
    """The page's colours: the link's own over the defaults."""
    return {**DEFAULT_THEME, **link.theme_config}


async def list_links(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID, page: PageParams
) -> tuple[list[SetupLink], int]:
    """A page of the customer's links, newest first, and their total."""
    await _customer(session, project_id, customer_id, lock=False)
    return await repository.list_for(session, project_id, customer_id, page)


async def create(
    session: AsyncSession,
    project_id: uuid.UUID,
    customer_id: uuid.UUID,
    cipher: Cipher,
    fields: SetupLinkFields,
) -> SetupLink:
    """A new active link; the customer's other active links end (revoked, or expired)."""
    now = clock.utcnow()
    await _customer(session, project_id, customer_id, lock=True)
    await repository.end_active(session, customer_id, now)
    token = secrets.token_urlsafe(32)
    link = SetupLink(
        id=uuid.uuid4(),
        project_id=project_id,
        customer_id=customer_id,
        token_digest=digest(token),
        token_encrypted=cipher.encrypt(token),
        status=ACTIVE,
        expires_at=now + LINK_LIFETIME,
        created_at=now,
        updated_at=now,
        **_initial(fields),
    )
    session.add(link)
    await session.flush()
    return link


def _initial(fields: SetupLinkFields) -> dict[str, Any]:
    return {
        "success_redirect_url": fields.success_redirect_url,
        "failure_redirect_url": fields.failure_redirect_url,
        "allowed_connection_types": fields.allowed_connection_types or list(_DEFAULT_TYPES),
        "provision_phone_number": bool(fields.provision_phone_number),
        "phone_number_area_code": fields.phone_number_area_code,
        "phone_number_country_isos": (
            ["US"] if fields.phone_number_country_isos is None else fields.phone_number_country_isos
        ),
        "theme_config": _theme_dict(fields),
    }


def _theme_dict(fields: SetupLinkFields) -> dict[str, str]:
    theme = fields.theme_config
    return {} if theme is None else theme.model_dump(exclude_none=True)


async def update(
    session: AsyncSession,
    project_id: uuid.UUID,
    customer_id: uuid.UUID,
    link_id: uuid.UUID,
    fields: SetupLinkUpdateFields,
) -> SetupLink:
    """Change the fields sent: redirects, theme, options, expiry, or status (not ``used``)."""
    now = clock.utcnow()
    await _customer(session, project_id, customer_id, lock=True)
    link = await repository.get(session, project_id, customer_id, link_id)
    if link is None:
        raise SetupLinkNotFound()
    _check_update(link, fields, now)
    if (fields.status or status_of(link, now)) == ACTIVE:
        await repository.end_active(session, customer_id, now, keep=link.id)
    _apply(link, fields)
    link.updated_at = now
    await session.flush()
    return link


def _check_update(link: SetupLink, fields: SetupLinkUpdateFields, now: datetime) -> None:
    sent = fields.model_fields_set
    nulls = [f for f in ("allowed_connection_types", "status", "expires_at") if f in sent]
    for name in nulls:
        if getattr(fields, name) is None:
            raise InvalidSetupLink.of(name, "cannot be null")
    if fields.status is not None and link.status == USED:
        raise InvalidSetupLink.of("status", "the link was used: its status cannot change")
    expires_at = fields.expires_at or link.expires_at
    if fields.expires_at is not None and fields.expires_at <= now and fields.status != EXPIRED:
        raise InvalidSetupLink.of("expires_at", "must be in the future (or send status expired)")
    if fields.status == ACTIVE and expires_at <= now:
        raise InvalidSetupLink.of("status", "the link has expired: send a later expires_at too")


def _apply(link: SetupLink, fields: SetupLinkUpdateFields) -> None:
    sent = fields.model_fields_set
    for name in ("success_redirect_url", "failure_redirect_url", "phone_number_area_code"):
        if name in sent:
            setattr(link, name, getattr(fields, name))
    for name in ("allowed_connection_types", "expires_at", "status"):
        if getattr(fields, name) is not None:
            setattr(link, name, getattr(fields, name))
    if fields.provision_phone_number is not None:
        link.provision_phone_number = fields.provision_phone_number
    if fields.phone_number_country_isos is not None:
        link.phone_number_country_isos = fields.phone_number_country_isos
    if "theme_config" in sent:  # colours sent are merged in; null resets the theme
        merged = {**link.theme_config, **_theme_dict(fields)}
        link.theme_config = merged if fields.theme_config is not None else {}


async def open_link(session: AsyncSession, token: str, now: datetime) -> SetupLink:
    """The active link a page token names: :class:`SetupLinkNotFound` or :class:`SetupLinkGone`."""
    link = await repository.by_digest(session, digest(token)) if token else None
    if link is None:
        raise SetupLinkNotFound("This setup link does not exist: check the address you were given.")
    if status_of(link, now) != ACTIVE:
        raise SetupLinkGone(_gone_reason(status_of(link, now)))
    return link


def _gone_reason(status: str) -> str:
    return {
        USED: "This setup link was used already: WhatsApp is connected.",
        REVOKED: "This setup link was replaced or revoked: ask for a new one.",
        EXPIRED: "This setup link has expired: ask for a new one.",
    }.get(status, "This setup link can no longer be used.")


async def mark_used(
    session: AsyncSession, link: SetupLink, config_id: uuid.UUID, now: datetime
) -> None:
    """Make the link used by ``config_id``; :class:`SetupLinkGone` if it ended meanwhile."""
    if not await repository.mark_used(session, link.id, config_id, now):
        raise SetupLinkGone(_gone_reason(REVOKED))


async def _customer(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID, *, lock: bool
) -> None:
    if not await repository.customer_exists(session, project_id, customer_id, lock=lock):
        raise CustomerNotFound()
