"""The retention deletes settled event-webhook deliveries past ``webhook_retention_days``."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from builders import create_project, default_config_id
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WebhookDelivery
from threadline.retention import service


async def test_settled_deliveries_past_the_period_go_the_rest_stays(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = uuid.UUID(await default_config_id(resources, project))
    now = utcnow()
    old = now - timedelta(days=resources.settings.webhook_retention_days + 1)
    cases = [
        ("old-delivered", "delivered", old),
        ("old-failed", "failed", old),
        ("old-batched", "batched", old),
        ("old-pending", "pending", old),
        ("old-buffering", "buffering", old),
        ("new-delivered", "delivered", now),
    ]
    async with resources.db.transaction() as session:
        for event_id, status, at in cases:
            session.add(
                WebhookDelivery(
                    project_id=uuid.UUID(project.id),
                    webhook_id=uuid.uuid4(),
                    whatsapp_config_id=config_id,
                    event="whatsapp.message.sent",
                    event_id=event_id,
                    body="{}",
                    status=status,
                    batch_size=1,
                    attempts=0,
                    created_at=at,
                    updated_at=at,
                )
            )
    async with resources.db.transaction() as session:
        await service.prune_rest(session, resources.settings, now)
    async with resources.db.session() as session:
        left = (await session.execute(select(WebhookDelivery.event_id))).scalars()
        assert sorted(left) == ["new-delivered", "old-buffering", "old-pending"]
