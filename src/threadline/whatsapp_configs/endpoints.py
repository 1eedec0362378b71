"""HTTP routes for WhatsApp configs (a customer's own list and create are in ``customers``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.kit.listing import CreatedQuery, PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.whatsapp_configs import health, presenters, removal, service
from threadline.whatsapp_configs.schemas import (
    HealthReport,
    WhatsappConfigFilters,
    WhatsappConfigOut,
    WhatsappConfigUpdate,
)

router = APIRouter(tags=["WhatsApp Configs"])


def config_filters(
    business_account_id: Annotated[str | None, Query()] = None,
    business_account_id_eq: Annotated[str | None, Query(alias="q[business_account_id_eq]")] = None,
    name_cont: Annotated[str | None, Query(alias="q[name_cont]")] = None,
) -> WhatsappConfigFilters:
    """The filters of the config lists, from the query string."""
    return WhatsappConfigFilters(
        business_account_id=business_account_id,
        business_account_id_eq=business_account_id_eq,
        name_cont=name_cont,
    )


ConfigFilters = Annotated[WhatsappConfigFilters, Depends(config_filters)]


@router.get("/whatsapp_configs", response_model=Page[WhatsappConfigOut])
async def list_whatsapp_configs(
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
    filters: ConfigFilters,
    created: CreatedQuery,
    page: PageQuery,
) -> Page[WhatsappConfigOut]:
    """The project's WhatsApp configs, newest first."""
    rows, total = await service.list_page(session, project, filters, created, page)
    return page_of(presenters.describe_all(rows, resources.settings), page, total)


@router.get("/whatsapp_configs/{config_id}", response_model=Envelope[WhatsappConfigOut])
async def get_whatsapp_config(
    config_id: uuid.UUID, session: DbSession, project: CurrentProject, resources: AppResources
) -> Envelope[WhatsappConfigOut]:
    """One WhatsApp config (its secrets never shown)."""
    config = await service.get(session, project, config_id)
    return Envelope(data=presenters.describe(config, resources.settings))


@router.patch("/whatsapp_configs/{config_id}", response_model=Envelope[WhatsappConfigOut])
async def update_whatsapp_config(
    config_id: uuid.UUID,
    body: WhatsappConfigUpdate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[WhatsappConfigOut]:
    """Change a config's fields; secrets sent replace the stored ones."""
    config = await service.update(
        session, project, resources.cipher, config_id, body.whatsapp_config
    )
    return Envelope(data=presenters.describe(config, resources.settings))


#: ``?force=true`` deletes a config (or customer) whose number is still in use.
Force = Annotated[
    bool,
    Query(description="Delete even with live executions or open conversations (they end)"),
]


@router.delete("/whatsapp_configs/{config_id}", status_code=204, response_class=Response)
async def delete_whatsapp_config(
    config_id: uuid.UUID, session: DbSession, project: CurrentProject, force: Force = False
) -> Response:
    """Delete a config; refused (422) while in use unless ``force=true``."""
    await removal.delete(session, project, config_id, force=force)
    return Response(status_code=204)


@router.get(
    "/whatsapp_configs/{config_id}/health",
    response_model=HealthReport,
    response_model_exclude_none=True,
)
async def whatsapp_config_health(
    config_id: uuid.UUID, session: DbSession, project: CurrentProject, resources: AppResources
) -> HealthReport:
    """Ask the Graph API about the number and its WABA; each failed check says why."""
    return await health.check(
        session, project, resources.settings, resources.cipher, resources.http, config_id
    )
