"""An approved display name becomes ``applied`` once the number carries it: its job reads
the number's ``verified_name`` from the sandbox's Graph API, at once and then later."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from names_data import ask, production_config, requests_url
from sqlalchemy import select

from builders import TestProject, create_project, run_jobs
from support import eventually
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job
from threadline.sandbox.state import SandboxState
from threadline.whatsapp_display_names.service import APPLY_TASK


async def _shown(client: httpx.AsyncClient, project: TestProject, config_id: str, rid: str) -> Any:
    url = f"{requests_url(config_id)}/{rid}"
    return (await client.get(url, headers=project.headers)).json()["data"]


async def _apply_jobs(resources: Resources) -> list[tuple[str, datetime]]:
    """The apply jobs left in the queue: status and when due (done ones are gone)."""
    query = select(Job.status, Job.run_at).where(Job.task == APPLY_TASK)
    async with resources.db.read() as session:
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def test_an_approved_name_is_applied_when_the_number_shows_it(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    created = (await ask(client, project, config_id, "Acme Support")).json()["data"]

    async def applied() -> Any:
        await run_jobs(resources)
        shown = await _shown(client, project, config_id, created["id"])
        return shown if shown["status"] == "applied" else None

    shown = await eventually(applied, timeout=10, what="the approved name applied")
    assert shown["applied_at"] is not None and shown["reviewed_at"] is not None
    assert shown["applied_at"] >= shown["reviewed_at"]
    assert await _apply_jobs(resources) == []


async def test_an_approved_name_not_yet_on_the_number_waits_then_applies(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"name_review": "PENDING"})
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    created = (await ask(client, project, config_id, "Acme Later")).json()["data"]
    previous = sandbox.verified_name
    (await control.post("/display_name/review", json={"decision": "APPROVED"})).raise_for_status()
    sandbox.verified_name = previous  # Meta approved it; the number does not carry it yet

    async def approved() -> Any:
        # A delivery stored alone is applied by a job: run what is due, and only that
        # (the apply job's own retry stays in its backoff).
        await Worker(resources).run_until_idle()
        shown = await _shown(client, project, config_id, created["id"])
        return shown if shown["status"] == "approved" else None

    await eventually(approved, timeout=30, what="the approval webhook applied")
    await Worker(resources).run_until_idle()  # the apply job, if it came after the approval
    assert (await _shown(client, project, config_id, created["id"]))["status"] == "approved"
    [(status, due)] = await _apply_jobs(resources)
    assert status == "queued"
    assert due > utcnow() + timedelta(seconds=3)  # it looked, and looks again later

    sandbox.verified_name = "Acme Later"
    await run_jobs(resources)
    shown = await _shown(client, project, config_id, created["id"])
    assert shown["status"] == "applied" and shown["applied_at"] is not None
