"""Importing every module that registers job handlers, and queueing the system's own jobs."""

from __future__ import annotations

from threadline.kit.resources import Resources


def load_tasks() -> None:
    """Register all tasks with the job registry (idempotent)."""
    from threadline.conversations import tasks as _conversations  # noqa: F401
    from threadline.executions import tasks as _executions  # noqa: F401
    from threadline.inbound import tasks as _inbound  # noqa: F401
    from threadline.messaging import tasks as _messaging  # noqa: F401
    from threadline.retention import tasks as _retention  # noqa: F401
    from threadline.whatsapp_broadcasts import tasks as _whatsapp_broadcasts  # noqa: F401
    from threadline.whatsapp_display_names import tasks as _whatsapp_display_names  # noqa: F401
    from threadline.whatsapp_messages import tasks as _whatsapp_messages  # noqa: F401
    from threadline.whatsapp_templates import tasks as _whatsapp_templates  # noqa: F401
    from threadline.whatsapp_webhooks import tasks as _whatsapp_webhooks  # noqa: F401


async def schedule_maintenance(resources: Resources) -> None:
    """Queue the retention's run unless one is queued: every worker does it as it starts,
    so the self-rescheduling chain exists whatever was deployed first."""
    from threadline.retention import service as retention

    async with resources.db.transaction() as session:
        await retention.ensure_scheduled(session, resources.settings)
