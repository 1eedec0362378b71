"""WhatsApp webhooks: a config's subscriptions of the user's URLs to its events."""

from __future__ import annotations

import uuid

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from threadline.errors import NotFound, Unprocessable
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.kit.egress import EgressPolicy, url_refusal
from threadline.kit.schemas import PageParams
from threadline.models import Project, WebhookDelivery, WhatsappConfig, WhatsappWebhook
from threadline.whatsapp_configs import service as configs
from threadline.whatsapp_webhooks import delivery, events, repository
from threadline.whatsapp_webhooks.names import MESSAGE_RECEIVED
from threadline.whatsapp_webhooks.schemas import (
    WhatsappWebhookCreateFields,
    WhatsappWebhookFields,
    WhatsappWebhookFilters,
)

_CHANGED = "threadline.whatsapp_webhooks_changed"


class WhatsappWebhookNotFound(NotFound):
    """The WhatsApp webhook does not exist on this config."""

    error = "WhatsApp webhook not found"


class DeliveryNotFound(NotFound):
    """The delivery does not exist for this webhook."""

    error = "Webhook delivery not found"


class NotRedeliverable(Unprocessable):
    """Only a failed or delivered delivery can be redelivered."""


async def _config(session: AsyncSession, project: Project, config_id: uuid.UUID) -> WhatsappConfig:
    return await configs.get(session, project, config_id)


async def get(
    session: AsyncSession, project: Project, config_id: uuid.UUID, webhook_id: uuid.UUID
) -> WhatsappWebhook:
    """A webhook of one of the project's configs."""
    config = await _config(session, project, config_id)
    webhook = await repository.get(session, config.id, webhook_id)
    if webhook is None:
        raise WhatsappWebhookNotFound()
    return webhook


async def list_page(
    session: AsyncSession,
    project: Project,
    config_id: uuid.UUID,
    filters: WhatsappWebhookFilters,
    page: PageParams,
) -> tuple[list[WhatsappWebhook], int]:
    """One page of a config's webhooks."""
    config = await _config(session, project, config_id)
    return await repository.list_page(session, config.id, filters, page)


async def create(
    session: AsyncSession,
    project: Project,
    cipher: Cipher,
    policy: EgressPolicy,
    config_id: uuid.UUID,
    fields: WhatsappWebhookCreateFields,
) -> WhatsappWebhook:
    """Subscribe a URL to a config's events; the secret is stored encrypted."""
    config = await _config(session, project, config_id)
    await _check_url(policy, fields.url)
    now = utcnow()
    webhook = WhatsappWebhook(
        id=uuid.uuid4(),
        project_id=config.project_id,
        whatsapp_config_id=config.id,
        url=fields.url,
        secret_encrypted=cipher.encrypt(fields.secret_key),
        events=list(fields.events),
        active=True if fields.active is None else fields.active,
        headers=fields.headers,
        buffer_enabled=bool(fields.buffer_enabled),
        buffer_window_seconds=fields.buffer_window_seconds or 5,
        max_buffer_size=fields.max_buffer_size or 50,
        buffer_events=list(fields.buffer_events or (MESSAGE_RECEIVED,)),
        inactivity_minutes=fields.inactivity_minutes or 60,
        created_at=now,
        updated_at=now,
    )
    session.add(webhook)
    await session.flush()
    changed(session)
    return webhook


async def update(
    session: AsyncSession,
    project: Project,
    cipher: Cipher,
    policy: EgressPolicy,
    ids: tuple[uuid.UUID, uuid.UUID],
    fields: WhatsappWebhookFields,
) -> WhatsappWebhook:
    """Change the fields sent; a new ``secret_key`` replaces the stored one."""
    webhook = await get(session, project, *ids)
    _refuse_nulls(fields)
    if fields.url is not None:
        await _check_url(policy, fields.url)
    sent = fields.model_dump(exclude_unset=True, exclude={"secret_key"})
    for name, value in sent.items():
        setattr(webhook, name, list(value) if isinstance(value, list) else value)
    if fields.secret_key is not None:
        webhook.secret_encrypted = cipher.encrypt(fields.secret_key)
    webhook.updated_at = utcnow()
    await session.flush()
    changed(session)
    return webhook


def _refuse_nulls(fields: WhatsappWebhookFields) -> None:
    nullable = {"headers"}
    problems = [
        {"field": f"whatsapp_webhook.{name}", "message": "cannot be null"}
        for name in fields.model_fields_set - nullable
        if getattr(fields, name) is None
    ]
    if problems:
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise Unprocessable(summary, details=summary, errors=problems)


async def _check_url(policy: EgressPolicy, url: str) -> None:
    reason = await url_refusal(policy, url)
    if reason is not None:
        problem = {"field": "whatsapp_webhook.url", "message": reason}
        raise Unprocessable(f"whatsapp_webhook.url: {reason}", details=reason, errors=[problem])


async def delete(
    session: AsyncSession, project: Project, config_id: uuid.UUID, webhook_id: uuid.UUID
) -> None:
    """Remove a webhook and its delivery log (queued deliveries then find nothing)."""
    await repository.delete_webhook(session, await get(session, project, config_id, webhook_id))
    changed(session)


async def deliveries_page(
    session: AsyncSession,
    project: Project,
    ids: tuple[uuid.UUID, uuid.UUID],
    status: str | None,
    page: PageParams,
) -> tuple[list[WebhookDelivery], int]:
    """One page of a webhook's deliveries, newest first."""
    webhook = await get(session, project, *ids)
    return await repository.deliveries_page(session, webhook.id, status, page)


async def redeliver(
    session: AsyncSession, project: Project, ids: tuple[uuid.UUID, uuid.UUID], delivery_id: int
) -> WebhookDelivery:
    """Queue a settled delivery again (same body, same idempotency key)."""
    webhook = await get(session, project, *ids)
    row = await repository.delivery_of(session, webhook.id, delivery_id)
    if row is None:
        raise DeliveryNotFound()
    if row.status not in delivery.FINAL:
        raise NotRedeliverable(f"Delivery {delivery_id} is {row.status}, not failed or delivered")
    await delivery.redeliver(session, row, utcnow())
    return row


def changed(session: AsyncSession) -> None:
    """A webhook is being written: forget the subscriptions now, and again at commit."""
    events.subscriptions.clear()
    session.sync_session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_at_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        events.subscriptions.clear()


@event.listens_for(Session, "after_rollback")
def _forget_at_rollback(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        events.subscriptions.clear()
