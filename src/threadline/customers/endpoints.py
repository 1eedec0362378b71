"""HTTP routes for customers and their WhatsApp configs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.customers import service
from threadline.customers.schemas import (
    CustomerCreate,
    CustomerFilters,
    CustomerOut,
    CustomerUpdate,
)
from threadline.kit.listing import CreatedQuery, PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.whatsapp_configs import presenters
from threadline.whatsapp_configs.endpoints import ConfigFilters, Force
from threadline.whatsapp_configs.schemas import WhatsappConfigCreate, WhatsappConfigOut

router = APIRouter(tags=["Customers"])


def customer_filters(
    name_cont: Annotated[str | None, Query(alias="q[name_cont]")] = None,
    external_id_eq: Annotated[str | None, Query(alias="q[external_customer_id_eq]")] = None,
) -> CustomerFilters:
    """The filters of ``GET /customers``, from the query string."""
    return CustomerFilters(name_cont=name_cont, external_customer_id_eq=external_id_eq)


@router.get("/customers", response_model=Page[CustomerOut])
async def list_customers(
    session: DbSession,
    project: CurrentProject,
    filters: Annotated[CustomerFilters, Depends(customer_filters)],
    created: CreatedQuery,
    page: PageQuery,
) -> Page[CustomerOut]:
    """The project's customers, newest first."""
    rows, total = await service.list_page(session, project, filters, created, page)
    return page_of([CustomerOut.model_validate(row) for row in rows], page, total)


@router.post("/customers", status_code=201, response_model=Envelope[CustomerOut])
async def create_customer(
    body: CustomerCreate, session: DbSession, project: CurrentProject
) -> Envelope[CustomerOut]:
    """Create a customer."""
    customer = await service.create(session, project, body.customer)
    return Envelope(data=CustomerOut.model_validate(customer))


@router.get("/customers/{customer_id}", response_model=Envelope[CustomerOut])
async def get_customer(
    customer_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[CustomerOut]:
    """One customer."""
    customer = await service.get(session, project, customer_id)
    return Envelope(data=CustomerOut.model_validate(customer))


@router.patch("/customers/{customer_id}", response_model=Envelope[CustomerOut])
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, session: DbSession, project: CurrentProject
) -> Envelope[CustomerOut]:
    """Change a customer's name or external id."""
    customer = await service.update(session, project, customer_id, body.customer)
    return Envelope(data=CustomerOut.model_validate(customer))


@router.delete("/customers/{customer_id}", status_code=204, response_class=Response)
async def delete_customer(
    customer_id: uuid.UUID, session: DbSession, project: CurrentProject, force: Force = False
) -> Response:
    """Delete a customer and its WhatsApp configs (refused while in use unless forced)."""
    await service.delete(session, project, customer_id, force=force)
    return Response(status_code=204)


@router.get(
    "/customers/{customer_id}/whatsapp_configs",
    response_model=Page[WhatsappConfigOut],
    tags=["WhatsApp Configs"],
)
async def list_customer_whatsapp_configs(
    customer_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    filters: ConfigFilters,
    created: CreatedQuery,
    page: PageQuery,
) -> Page[WhatsappConfigOut]:
    """One customer's WhatsApp configs, newest first."""
    rows, total = await service.list_configs(session, project, customer_id, filters, created, page)
    return page_of(presenters.describe_all(rows, resources.settings), page, total)


@router.post(
    "/customers/{customer_id}/whatsapp_configs",
    status_code=201,
    response_model=Envelope[WhatsappConfigOut],
    tags=["WhatsApp Configs"],
)
async def create_customer_whatsapp_config(
    customer_id: uuid.UUID,
    body: WhatsappConfigCreate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[WhatsappConfigOut]:
    """Connect a number for a customer: a production number, or the sandbox."""
    config = await service.add_config(
        session, project, resources.settings, resources.cipher, customer_id, body.whatsapp_config
    )
    return Envelope(data=presenters.describe(config, resources.settings))
