"""One request waits for Meta per number: the partial unique index decides when two
creates pass the check together, and an interrupted submission stops blocking."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from names_data import ask, production_config, requests_url
from sqlalchemy import update

from builders import create_project
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappDisplayNameRequest
from threadline.sandbox.state import SandboxState
from threadline.whatsapp_display_names import service


async def test_the_index_refuses_a_second_active_request_naming_the_first(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = uuid.UUID(await production_config(resources, project, sandbox_url))
    project_id, now = uuid.UUID(project.id), utcnow()
    async with resources.db.transaction() as session:
        first = await service.open_request(session, project_id, config_id, "One", None, now)
        first_id = first.id

    with pytest.raises(service.DisplayNameRefused, match=str(first_id)):
        async with resources.db.transaction() as session:
            await service.open_request(session, project_id, config_id, "Two", None, now)


async def test_an_interrupted_submission_stops_blocking_after_a_while(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    sandbox.settings.name_review = "PENDING"
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    async with resources.db.transaction() as session:
        stuck = await service.open_request(
            session, uuid.UUID(project.id), uuid.UUID(config_id), "Stuck", None, utcnow()
        )
        stuck_id = stuck.id
    assert (await ask(client, project, config_id, "Acme")).status_code == 422
    async with resources.db.transaction() as session:
        old = utcnow() - service.STALE_SUBMISSION - timedelta(seconds=1)
        row = WhatsappDisplayNameRequest
        await session.execute(update(row).where(row.id == stuck_id).values(submitted_at=old))

    created = await ask(client, project, config_id, "Acme")

    assert created.status_code == 201 and created.json()["data"]["status"] == "pending_review"
    url = f"{requests_url(config_id)}/{stuck_id}"
    shown = (await client.get(url, headers=project.headers)).json()["data"]
    assert shown["status"] == "failed" and "never recorded" in shown["meta_error_message"]
