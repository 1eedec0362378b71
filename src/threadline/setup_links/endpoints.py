"""HTTP routes for a customer's setup links (``/api/v1/customers/{id}/setup_links``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.kit import clock
from threadline.kit.listing import PageQuery
from threadline.kit.schemas import Envelope
from threadline.setup_links import presenters, service
from threadline.setup_links.schemas import (
    SetupLinkCreate,
    SetupLinkOut,
    SetupLinkPage,
    SetupLinkUpdate,
)

router = APIRouter(tags=["Setup Links"])
_PATH = "/customers/{customer_id}/setup_links"


@router.get(_PATH, response_model=SetupLinkPage)
async def list_setup_links(
    customer_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    page: PageQuery,
) -> SetupLinkPage:
    """The customer's setup links, newest first."""
    rows, total = await service.list_links(session, project.id, customer_id, page)
    return presenters.page(rows, total, page, resources.cipher, resources.settings, clock.utcnow())


@router.post(_PATH, status_code=201, response_model=Envelope[SetupLinkOut])
async def create_setup_link(
    customer_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    body: SetupLinkCreate | None = None,
) -> Envelope[SetupLinkOut]:
    """A new setup link for the customer (30 days); its other active links are revoked."""
    fields = (body or SetupLinkCreate()).setup_link
    link = await service.create(session, project.id, customer_id, resources.cipher, fields)
    out = presenters.present(link, resources.cipher, resources.settings, clock.utcnow())
    return Envelope(data=out)


@router.patch(_PATH + "/{link_id}", response_model=Envelope[SetupLinkOut])
async def update_setup_link(
    customer_id: uuid.UUID,
    link_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    body: SetupLinkUpdate | None = None,
) -> Envelope[SetupLinkOut]:
    """Change a link: redirects, theme, options, expiry, or revoke it (``status: revoked``)."""
    fields = (body or SetupLinkUpdate()).setup_link
    link = await service.update(session, project.id, customer_id, link_id, fields)
    out = presenters.present(link, resources.cipher, resources.settings, clock.utcnow())
    return Envelope(data=out)
