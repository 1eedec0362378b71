"""The retention deletes old failed jobs, processed webhook deliveries and delivery
statuses in bounded batches; what is live, pending or recent stays."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from builders import TestProject, create_project, default_config_id
from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import InboundWebhook, Job, MessageStatusEvent
from threadline.retention import service

OLD = timedelta(days=31)


async def _jobs(resources: Resources, now: datetime) -> None:
    """Failed long ago (2), failed lately, queued long ago (a timer), running."""
    older = OLD + timedelta(days=1)
    cases = [
        ("old-1", "failed", older),
        ("old-2", "failed", OLD),
        ("recent", "failed", timedelta()),
    ]
    cases += [("timer", "queued", OLD), ("live", "running", OLD)]
    async with resources.db.transaction() as session:
        for key, _status, _age in cases:
            await enqueue(session, "tests.nothing", {}, dedupe_key=key)
        for key, status, age in cases:
            await session.execute(
                update(Job).where(Job.dedupe_key == key).values(status=status, run_at=now - age)
            )


async def _webhooks(resources: Resources, project: TestProject, now: datetime) -> None:
    """Deliveries: processed long ago, pending long ago, processed now; statuses old and new."""
    project_id = uuid.UUID(project.id)
    config = uuid.UUID(await default_config_id(resources, project))
    rows: list[tuple[Any, dict[str, Any]]] = [
        (InboundWebhook, {"body": "old", "status": "processed", "received_at": now - OLD}),
        (InboundWebhook, {"body": "stuck", "status": "pending", "received_at": now - OLD}),
        (InboundWebhook, {"body": "new", "status": "processed", "received_at": now}),
    ]
    for wamid, age in (("w.old", OLD), ("w.new", timedelta())):
        values = {"project_id": project_id, "whatsapp_config_id": config, "wamid": wamid}
        rows.append((MessageStatusEvent, {**values, "status": "sent", "payload": {},
                                          "received_at": now - age}))  # fmt: skip
    async with resources.db.transaction() as session:
        for model, values in rows:
            session.add(
                model(item_count=0, **values) if model is InboundWebhook else model(**values)
            )


async def _left(resources: Resources) -> dict[str, list[str]]:
    async with resources.db.session() as session:
        jobs = (await session.execute(select(Job.dedupe_key).order_by(Job.id))).scalars()
        hooks = (await session.execute(select(InboundWebhook.body))).scalars()
        statuses = (await session.execute(select(MessageStatusEvent.wamid))).scalars()
        return {"jobs": list(jobs), "webhooks": sorted(hooks), "statuses": sorted(statuses)}


async def test_old_failed_jobs_webhooks_and_statuses_go_the_rest_stays(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    now = utcnow()
    await _jobs(resources, now)
    await _webhooks(resources, project, now)
    settings = resources.settings.model_copy(update={"retention_batch_size": 1})

    # One row of each kind per batch: the first run's batches all come back full.
    async with resources.db.transaction() as session:
        assert await service.prune_rest(session, settings, now) is True
    assert await _left(resources) == {
        "jobs": ["old-2", "recent", "timer", "live"],
        "webhooks": ["new", "stuck"],
        "statuses": ["w.new"],
    }
    for more in (True, False):  # the second failed job; then nothing is left to do
        async with resources.db.transaction() as session:
            assert await service.prune_rest(session, settings, now) is more
    expected = {
        "jobs": ["recent", "timer", "live"],
        "webhooks": ["new", "stuck"],
        "statuses": ["w.new"],
    }
    assert await _left(resources) == expected


async def test_zero_days_keeps_them(resources: Resources, sandbox_url: str) -> None:
    project = await create_project(resources, sandbox_url)
    now = utcnow()
    await _jobs(resources, now)
    await _webhooks(resources, project, now)
    before = await _left(resources)
    settings = resources.settings.model_copy(
        update={"failed_job_retention_days": 0, "webhook_retention_days": 0}
    )
    async with resources.db.transaction() as session:
        assert await service.prune_rest(session, settings, now) is False
    assert await _left(resources) == before
