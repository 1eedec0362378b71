"""Customers: the businesses a project serves, and the WhatsApp numbers of each."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.customers import repository
from threadline.customers.schemas import CustomerCreateFields, CustomerFields, CustomerFilters
from threadline.errors import NotFound, Unprocessable
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.kit.listing import CreatedRange
from threadline.kit.schemas import PageParams
from threadline.models import Customer, Project, WhatsappConfig
from threadline.whatsapp_configs import removal
from threadline.whatsapp_configs import service as whatsapp_configs
from threadline.whatsapp_configs.schemas import WhatsappConfigCreateFields, WhatsappConfigFilters


class CustomerNotFound(NotFound):
    """The customer does not exist in this project."""

    error = "Customer not found"


class InvalidCustomer(Unprocessable):
    """The customer is not valid."""

    error = "Invalid customer"

    @classmethod
    def of(cls, field: str, why: str) -> InvalidCustomer:
        """The error naming ``field`` and what to change."""
        located = f"customer.{field}"
        error = cls(f"{located}: {why}", errors=[{"field": located, "message": why}])
        error.details = error.message
        return error


async def get(session: AsyncSession, project: Project, customer_id: uuid.UUID) -> Customer:
    """A customer of ``project``; :class:`CustomerNotFound` for any other."""
    customer = await repository.get(session, project.id, customer_id)
    if customer is None:
        raise CustomerNotFound()
    return customer


async def list_page(
    session: AsyncSession,
    project: Project,
    filters: CustomerFilters,
    created: CreatedRange,
    page: PageParams,
) -> tuple[list[Customer], int]:
    """A page of the project's customers, newest first, and the total."""
    return await repository.list_for(session, project.id, filters, created, page)


async def create(session: AsyncSession, project: Project, fields: CustomerCreateFields) -> Customer:
    """A new customer; its ``external_customer_id`` is unique in the project."""
    await _check_external_id_free(session, project, fields.external_customer_id, None)
    now = utcnow()
    customer = Customer(
        id=uuid.uuid4(),
        project_id=project.id,
        name=fields.name,
        external_customer_id=fields.external_customer_id,
        created_at=now,
        updated_at=now,
    )
    await _save(session, customer)
    return customer


async def update(
    session: AsyncSession, project: Project, customer_id: uuid.UUID, fields: CustomerFields
) -> Customer:
    """Change the fields sent."""
    customer = await get(session, project, customer_id)
    if "name" in fields.model_fields_set and fields.name is None:
        raise InvalidCustomer.of("name", "cannot be null")
    if fields.external_customer_id is not None:
        await _check_external_id_free(session, project, fields.external_customer_id, customer.id)
    for name, value in fields.model_dump(include=fields.model_fields_set).items():
        setattr(customer, name, value)
    customer.updated_at = utcnow()
    await _save(session, customer)
    return customer


async def _save(session: AsyncSession, customer: Customer) -> None:
    if not await repository.save_unless_external_id_taken(session, customer):
        raise InvalidCustomer.of(
            "external_customer_id", f"{customer.external_customer_id!r} is already used"
        )


async def _check_external_id_free(
    session: AsyncSession, project: Project, external_id: str, customer_id: uuid.UUID | None
) -> None:
    holder = await repository.by_external_id(session, project.id, external_id)
    if holder is not None and holder.id != customer_id:
        raise InvalidCustomer.of(
            "external_customer_id", f"{external_id!r} is already used by customer {holder.id}"
        )


async def delete(
    session: AsyncSession, project: Project, customer_id: uuid.UUID, *, force: bool
) -> None:
    """Delete a customer and its WhatsApp configs (refused while in use unless ``force``)."""
    customer = await get(session, project, customer_id)
    configs = await whatsapp_configs.list_for_customer(session, project, customer.id)
    subject = f"Customer {customer.id} (its {len(configs)} WhatsApp configs)"
    path = f"/api/v1/customers/{customer.id}"
    await removal.delete_all(session, configs, force=force, subject=subject, path=path)
    await repository.remove(session, customer.id)


async def list_configs(
    session: AsyncSession,
    project: Project,
    customer_id: uuid.UUID,
    filters: WhatsappConfigFilters,
    created: CreatedRange,
    page: PageParams,
) -> tuple[list[WhatsappConfig], int]:
    """A page of one customer's WhatsApp configs."""
    customer = await get(session, project, customer_id)
    scoped = filters.model_copy(update={"customer_id": customer.id})
    return await whatsapp_configs.list_page(session, project, scoped, created, page)


async def add_config(
    session: AsyncSession,
    project: Project,
    settings: Settings,
    cipher: Cipher,
    customer_id: uuid.UUID,
    fields: WhatsappConfigCreateFields,
) -> WhatsappConfig:
    """A new WhatsApp config of one customer."""
    customer = await get(session, project, customer_id)
    return await whatsapp_configs.create(
        session, project, settings, cipher, customer_id=customer.id, fields=fields
    )
