"""Two requests for one template name, or two syncs, at once: the unique index, not the
check, decides the loser, which gets what a later request would (the name's 422, the
run reused), never a 409.

A rival transaction inserts the name and is held open while the request runs: on
PostgreSQL the request's check cannot see the uncommitted row and its insert waits on
the index; on SQLite the request waits for the one writer and then sees it."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select
from template_data import create_template, order_template

from builders import create_project
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappTemplate, WhatsappTemplateSyncRun

API = "/api/v1/whatsapp_templates"


def _rival(first: WhatsappTemplate, name: str) -> WhatsappTemplate:
    now = utcnow()
    return WhatsappTemplate(
        project_id=first.project_id,
        whatsapp_config_id=first.whatsapp_config_id,
        business_account_id=first.business_account_id,
        name=name,
        language_code=first.language_code,
        category=first.category,
        parameter_format=first.parameter_format,
        components=first.components,
        status="draft",
        meta={},
        created_at=now,
        updated_at=now,
    )


async def _held_rival(
    resources: Resources, first_id: str, name: str, held: asyncio.Event, go: asyncio.Event
) -> None:
    async with resources.db.transaction() as session:
        query = select(WhatsappTemplate).where(WhatsappTemplate.id == uuid.UUID(first_id))
        session.add(_rival((await session.execute(query)).scalar_one(), name))
        await session.flush()
        held.set()
        await go.wait()


async def _while_held(resources: Resources, first_id: str, name: str, request: object) -> object:
    held, go = asyncio.Event(), asyncio.Event()
    rival = asyncio.create_task(_held_rival(resources, first_id, name, held, go))
    await held.wait()
    answer = asyncio.ensure_future(request)  # type: ignore[arg-type]
    await asyncio.sleep(0.5)  # the request is past its check, waiting on the index/writer
    go.set()
    await rival
    return await answer


async def test_a_create_racing_for_a_name_is_the_same_422(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    first = await create_template(client, project, order_template("first_one"))
    body = {"template": order_template("order_ready")}

    answer = await _while_held(
        resources, first["id"], "order_ready", client.post(API, headers=project.headers, json=body)
    )

    assert isinstance(answer, httpx.Response)
    assert answer.status_code == 422, answer.text
    assert "already exists" in answer.json()["errors"][0]
    listed = (await client.get(API, headers=project.headers)).json()["data"]
    assert sorted(t["name"] for t in listed) == ["first_one", "order_ready"]


async def test_a_rename_racing_for_a_name_is_the_same_422_and_changes_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    first = await create_template(client, project, order_template("first_one"))
    rename = {"template": {"name": "order_ready"}}
    request = client.patch(f"{API}/{first['id']}", headers=project.headers, json=rename)

    answer = await _while_held(resources, first["id"], "order_ready", request)

    assert isinstance(answer, httpx.Response)
    assert answer.status_code == 422, answer.text
    shown = (await client.get(f"{API}/{first['id']}", headers=project.headers)).json()["data"]
    assert shown["name"] == "first_one"


async def _held_run(
    resources: Resources, first_id: str, held: asyncio.Event, go: asyncio.Event
) -> None:
    async with resources.db.transaction() as session:
        query = select(WhatsappTemplate).where(WhatsappTemplate.id == uuid.UUID(first_id))
        first = (await session.execute(query)).scalar_one()
        session.add(
            WhatsappTemplateSyncRun(
                project_id=first.project_id,
                whatsapp_config_id=first.whatsapp_config_id,
                business_account_id=first.business_account_id,
                status="queued",
                templates_synced=0,
                templates_created=0,
                templates_updated=0,
                templates_removed=0,
                pages=0,
                queued_at=utcnow(),
            )
        )
        await session.flush()
        held.set()
        await go.wait()


async def test_a_sync_racing_another_reuses_its_run_instead_of_a_409(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    first = await create_template(client, project, order_template("first_one"))
    held, go = asyncio.Event(), asyncio.Event()
    rival = asyncio.create_task(_held_run(resources, first["id"], held, go))
    await held.wait()
    answer = asyncio.ensure_future(client.post(f"{API}/sync", headers=project.headers))
    await asyncio.sleep(0.5)  # past its look for an active run, waiting on the index/writer
    go.set()
    await rival
    response = await answer

    assert response.status_code == 202, response.text
    summary = response.json()["summary"]
    assert summary == {"total_requests": 1, "jobs_enqueued": 0, "already_in_progress": 1}
