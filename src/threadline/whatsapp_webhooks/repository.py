"""SQL for WhatsApp webhooks and their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import WebhookDelivery, WhatsappWebhook
from threadline.whatsapp_webhooks.schemas import WhatsappWebhookFilters


async def get(
    session: AsyncSession, config_id: uuid.UUID, webhook_id: uuid.UUID
) -> WhatsappWebhook | None:
    """A webhook of the config (the config is already known to be the caller's)."""
    statement = select(WhatsappWebhook).where(
        WhatsappWebhook.id == webhook_id, WhatsappWebhook.whatsapp_config_id == config_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def by_id(session: AsyncSession, webhook_id: uuid.UUID) -> WhatsappWebhook | None:
    """A webhook by id, for a job that names it."""
    return await session.get(WhatsappWebhook, webhook_id)


async def active_for(session: AsyncSession, config_id: uuid.UUID) -> list[WhatsappWebhook]:
    """The config's active webhooks (one indexed lookup)."""
    statement = select(WhatsappWebhook).where(
        WhatsappWebhook.whatsapp_config_id == config_id, WhatsappWebhook.active.is_(True)
    )
    return list((await session.execute(statement)).scalars())


async def list_page(
    session: AsyncSession,
    config_id: uuid.UUID,
    filters: WhatsappWebhookFilters,
    page: PageParams,
) -> tuple[list[WhatsappWebhook], int]:
    """One page of the config's webhooks, oldest first."""
    statement = select(WhatsappWebhook).where(WhatsappWebhook.whatsapp_config_id == config_id)
    if filters.url_cont:
        statement = statement.where(contains(WhatsappWebhook.url, filters.url_cont))
    if filters.active_eq is not None:
        statement = statement.where(WhatsappWebhook.active.is_(filters.active_eq))
    ordered = statement.order_by(WhatsappWebhook.created_at, WhatsappWebhook.id)
    return await fetch_page(session, ordered, page)


async def delete_webhook(session: AsyncSession, webhook: WhatsappWebhook) -> None:
    """Delete a webhook and its delivery log."""
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    await session.delete(webhook)


async def add_deliveries(session: AsyncSession, rows: Sequence[WebhookDelivery]) -> None:
    """Insert delivery rows (their ids are set by the flush)."""
    session.add_all(rows)
    await session.flush()


async def delivery(session: AsyncSession, delivery_id: int) -> WebhookDelivery | None:
    """A delivery by id."""
    return await session.get(WebhookDelivery, delivery_id)


async def delivery_of(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: int
) -> WebhookDelivery | None:
    """A delivery of the webhook."""
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def deliveries_page(
    session: AsyncSession, webhook_id: uuid.UUID, status: str | None, page: PageParams
) -> tuple[list[WebhookDelivery], int]:
    """One page of the webhook's deliveries, newest first (batched events not listed)."""
    statement = select(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status != "batched"
    )
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    return await fetch_page(session, statement.order_by(WebhookDelivery.id.desc()), page)


async def lock_deliveries(
    session: AsyncSession, delivery_ids: Collection[int]
) -> dict[int, WebhookDelivery]:
    """Deliveries by id, row-locked in id order and read fresh (a batch's, at once)."""
    if not delivery_ids:
        return {}
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
        .order_by(WebhookDelivery.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in (await session.execute(statement)).scalars()}


async def webhooks_by_id(
    session: AsyncSession, webhook_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, WhatsappWebhook]:
    """Webhooks by id, in one query (the ones a batch of deliveries goes to)."""
    if not webhook_ids:
        return {}
    statement = select(WhatsappWebhook).where(WhatsappWebhook.id.in_(list(webhook_ids)))
    return {webhook.id: webhook for webhook in (await session.execute(statement)).scalars()}


_DELIVERIES = cast(Table, WebhookDelivery.__table__)
#: What recording an attempt writes (a column's value comes in as ``b_<column>``).
ATTEMPT_COLUMNS = (
    "status",
    "attempts",
    "response_status",
    "last_error",
    "updated_at",
    "delivered_at",
)
_RECORD_ATTEMPT = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"))
    .values(
        {name: bindparam(f"b_{name}", type_=_DELIVERIES.c[name].type) for name in ATTEMPT_COLUMNS}
    )
)


async def record_attempts(session: AsyncSession, outcomes: Sequence[dict[str, Any]]) -> None:
    """Write attempts' outcomes in one (executemany) statement: each has ``b_id`` and a
    ``b_<column>`` per column of :data:`ATTEMPT_COLUMNS`."""
    if outcomes:
        await session.execute(_RECORD_ATTEMPT, list(outcomes))
