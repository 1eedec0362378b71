"""SQL for setup links."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import Customer, SetupLink

ACTIVE, USED, EXPIRED, REVOKED = "active", "used", "expired", "revoked"


async def customer_exists(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID, *, lock: bool
) -> bool:
    """Whether the project has this customer; ``lock`` takes its row (``FOR UPDATE``), so
    that one link change per customer runs at a time."""
    statement = select(Customer.id).where(
        Customer.id == customer_id, Customer.project_id == project_id
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def get(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID, link_id: uuid.UUID
) -> SetupLink | None:
    """A link of the project's customer, or None."""
    statement = select(SetupLink).where(
        SetupLink.id == link_id,
        SetupLink.customer_id == customer_id,
        SetupLink.project_id == project_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def by_digest(session: AsyncSession, digest: str) -> SetupLink | None:
    """The link whose token has this digest (any project: the token is the credential)."""
    statement = (
        select(SetupLink)
        .where(SetupLink.token_digest == digest)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID, page: PageParams
) -> tuple[list[SetupLink], int]:
    """A page of the customer's links, newest first, and how many there are."""
    statement = (
        select(SetupLink)
        .where(SetupLink.project_id == project_id, SetupLink.customer_id == customer_id)
        .order_by(SetupLink.created_at.desc(), SetupLink.id)
    )
    return await fetch_page(session, statement, page)


async def end_active(
    session: AsyncSession, customer_id: uuid.UUID, now: datetime, *, keep: uuid.UUID | None = None
) -> None:
    """End the customer's active links: those past their expiry as expired, the rest revoked."""
    base = update(SetupLink).where(SetupLink.customer_id == customer_id, SetupLink.status == ACTIVE)
    if keep is not None:
        base = base.where(SetupLink.id != keep)
    for status, condition in (
        (EXPIRED, SetupLink.expires_at <= now),
        (REVOKED, SetupLink.expires_at > now),
    ):
        statement = base.where(condition).values(status=status, updated_at=now)
        await session.execute(statement.execution_options(synchronize_session=False))


async def mark_used(
    session: AsyncSession, link_id: uuid.UUID, config_id: uuid.UUID, now: datetime
) -> bool:
    """Make the link used, if it is still active and unexpired; True if it was."""
    statement = (
        update(SetupLink)
        .where(SetupLink.id == link_id, SetupLink.status == ACTIVE, SetupLink.expires_at > now)
        .values(status=USED, whatsapp_config_id=config_id, used_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
