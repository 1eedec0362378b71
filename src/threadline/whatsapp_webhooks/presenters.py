"""Webhook and delivery rows as the API shows them (never the secret)."""

from __future__ import annotations

from threadline.models import WebhookDelivery, WhatsappWebhook
from threadline.whatsapp_webhooks.schemas import WebhookDeliveryOut, WhatsappWebhookOut


def describe(webhook: WhatsappWebhook) -> WhatsappWebhookOut:
    """One webhook."""
    return WhatsappWebhookOut(
        id=webhook.id,
        whatsapp_config_id=webhook.whatsapp_config_id,
        url=webhook.url,
        events=list(webhook.events),
        active=webhook.active,
        headers=webhook.headers,
        buffer_enabled=webhook.buffer_enabled,
        buffer_window_seconds=webhook.buffer_window_seconds,
        max_buffer_size=webhook.max_buffer_size,
        buffer_events=list(webhook.buffer_events),
        inactivity_minutes=webhook.inactivity_minutes,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def describe_delivery(row: WebhookDelivery) -> WebhookDeliveryOut:
    """One delivery."""
    return WebhookDeliveryOut(
        id=row.id,
        webhook_id=row.webhook_id,
        event=row.event,
        event_id=row.event_id,
        conversation_id=row.conversation_id,
        status=row.status,
        batch_size=row.batch_size,
        attempts=row.attempts,
        response_status=row.response_status,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
    )
