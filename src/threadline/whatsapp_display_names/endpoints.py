"""HTTP routes for a config's display name requests.

The create waits for the Graph API: it authenticates in a read session of its own (like
the templates' submit) and holds no transaction while Meta answers.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession, OutsideProject
from threadline.kit.listing import PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.whatsapp_display_names import presenters, service, submission
from threadline.whatsapp_display_names.schemas import (
    DisplayNameRequestCreate,
    DisplayNameRequestOut,
)

router = APIRouter(tags=["WhatsApp Display Names"])
_BASE = "/whatsapp_configs/{whatsapp_config_id}/display_name_requests"


@router.get(_BASE, response_model=Page[DisplayNameRequestOut])
async def list_requests(
    whatsapp_config_id: uuid.UUID, session: DbSession, project: CurrentProject, page: PageQuery
) -> Page[DisplayNameRequestOut]:
    """The config's display name requests, most recent first."""
    rows, total = await service.list_page(session, project, whatsapp_config_id, page)
    return page_of([presenters.present(row) for row in rows], page, total)


@router.post(_BASE, status_code=201, response_model=Envelope[DisplayNameRequestOut])
async def create_request(
    whatsapp_config_id: uuid.UUID,
    body: DisplayNameRequestCreate,
    project: OutsideProject,
    resources: AppResources,
) -> Envelope[DisplayNameRequestOut]:
    """Ask Meta to review a new display name (see :mod:`.submission` for its answers)."""
    name = body.display_name_request.new_display_name.strip()
    row = await submission.create(resources, project, whatsapp_config_id, name)
    return Envelope(data=presenters.present(row))


@router.get(_BASE + "/{request_id}", response_model=Envelope[DisplayNameRequestOut])
async def get_request(
    whatsapp_config_id: uuid.UUID,
    request_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
) -> Envelope[DisplayNameRequestOut]:
    """One display name request of the config."""
    row = await service.get(session, project, whatsapp_config_id, request_id)
    return Envelope(data=presenters.present(row))
