"""HTTP routes for a config's WhatsApp webhooks and their delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.kit.listing import PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.whatsapp_webhooks import presenters, service
from threadline.whatsapp_webhooks.schemas import (
    WebhookDeliveryOut,
    WhatsappWebhookCreate,
    WhatsappWebhookFilters,
    WhatsappWebhookOut,
    WhatsappWebhookUpdate,
)

router = APIRouter(tags=["WhatsApp Webhooks"])
BASE = "/whatsapp_configs/{config_id}/whatsapp_webhooks"


def webhook_filters(
    url_cont: Annotated[str | None, Query(alias="q[url_cont]")] = None,
    active_eq: Annotated[bool | None, Query(alias="q[active_eq]")] = None,
) -> WhatsappWebhookFilters:
    """The filters of the webhook list, from the query string."""
    return WhatsappWebhookFilters(url_cont=url_cont, active_eq=active_eq)


Filters = Annotated[WhatsappWebhookFilters, Depends(webhook_filters)]
DeliveryStatus = Literal["buffering", "pending", "delivered", "failed"]


@router.get(BASE, response_model=Page[WhatsappWebhookOut])
async def list_whatsapp_webhooks(
    config_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    filters: Filters,
    page: PageQuery,
) -> Page[WhatsappWebhookOut]:
    """The config's webhooks, oldest first."""
    rows, total = await service.list_page(session, project, config_id, filters, page)
    return page_of([presenters.describe(row) for row in rows], page, total)


@router.post(BASE, status_code=201, response_model=Envelope[WhatsappWebhookOut])
async def create_whatsapp_webhook(
    config_id: uuid.UUID,
    body: WhatsappWebhookCreate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[WhatsappWebhookOut]:
    """Subscribe a URL to the config's events."""
    webhook = await service.create(
        session, project, resources.cipher, resources.egress, config_id, body.whatsapp_webhook
    )
    return Envelope(data=presenters.describe(webhook))


@router.get(BASE + "/{webhook_id}", response_model=Envelope[WhatsappWebhookOut])
async def get_whatsapp_webhook(
    config_id: uuid.UUID, webhook_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[WhatsappWebhookOut]:
    """One webhook (its secret never shown)."""
    webhook = await service.get(session, project, config_id, webhook_id)
    return Envelope(data=presenters.describe(webhook))


@router.patch(BASE + "/{webhook_id}", response_model=Envelope[WhatsappWebhookOut])
async def update_whatsapp_webhook(
    config_id: uuid.UUID,
    webhook_id: uuid.UUID,
    body: WhatsappWebhookUpdate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[WhatsappWebhookOut]:
    """Change the fields sent."""
    webhook = await service.update(
        session,
        project,
        resources.cipher,
        resources.egress,
        (config_id, webhook_id),
        body.whatsapp_webhook,
    )
    return Envelope(data=presenters.describe(webhook))


@router.delete(BASE + "/{webhook_id}", status_code=204, response_class=Response)
async def delete_whatsapp_webhook(
    config_id: uuid.UUID, webhook_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Response:
    """Remove a webhook and its delivery log."""
    await service.delete(session, project, config_id, webhook_id)
    return Response(status_code=204)


@router.get(BASE + "/{webhook_id}/deliveries", response_model=Page[WebhookDeliveryOut])
async def list_webhook_deliveries(
    config_id: uuid.UUID,
    webhook_id: uuid.UUID,
    session: DbSession,
    project: CurrentProject,
    page: PageQuery,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[WebhookDeliveryOut]:
    """The webhook's deliveries, newest first (Threadline's own; not in the reference)."""
    ids = (config_id, webhook_id)
    rows, total = await service.deliveries_page(session, project, ids, status, page)
    return page_of([presenters.describe_delivery(row) for row in rows], page, total)


@router.post(
    BASE + "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=Envelope[WebhookDeliveryOut],
)
async def redeliver_webhook_delivery(
    config_id: uuid.UUID,
    webhook_id: uuid.UUID,
    delivery_id: int,
    session: DbSession,
    project: CurrentProject,
) -> Envelope[WebhookDeliveryOut]:
    """Deliver a failed (or delivered) delivery again, with its idempotency key."""
    row = await service.redeliver(session, project, (config_id, webhook_id), delivery_id)
    return Envelope(data=presenters.describe_delivery(row))
