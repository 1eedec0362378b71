"""SQL for customers."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.customers.schemas import CustomerFilters
from threadline.kit.listing import CreatedRange, contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import Customer


async def get(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID
) -> Customer | None:
    """A customer of the project, or None."""
    statement = select(Customer).where(
        Customer.id == customer_id, Customer.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def by_external_id(
    session: AsyncSession, project_id: uuid.UUID, external_id: str
) -> Customer | None:
    """The project's customer with that external id, or None."""
    statement = select(Customer).where(
        Customer.project_id == project_id, Customer.external_customer_id == external_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def list_for(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: CustomerFilters,
    created: CreatedRange,
    page: PageParams,
) -> tuple[list[Customer], int]:
    """A page of the project's customers, newest first, and how many match in all."""
    conditions = [Customer.project_id == project_id, *created.conditions(Customer.created_at)]
    if filters.name_cont is not None:
        conditions.append(contains(Customer.name, filters.name_cont))
    if filters.external_customer_id_eq is not None:
        conditions.append(Customer.external_customer_id == filters.external_customer_id_eq)
    statement = select(Customer).where(*conditions)
    ordered = statement.order_by(Customer.created_at.desc(), Customer.id)
    return await fetch_page(session, ordered, page)


async def remove(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Delete the customer row (its configs are gone already)."""
    await session.execute(delete(Customer).where(Customer.id == customer_id))


async def save_unless_external_id_taken(session: AsyncSession, customer: Customer) -> bool:
    """Write the new or changed row; False (nothing written) if its external id is taken.

    A savepoint around the write: of concurrent requests for one key, the unique index
    lets one win and the others learn it without aborting their transaction.
    """
    try:
        async with session.begin_nested():
            session.add(customer)
            await session.flush()
    except IntegrityError:
        return False
    return True
