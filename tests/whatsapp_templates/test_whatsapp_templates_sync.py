"""The sync's outcome when Meta refuses it, and the sandbox's one WABA shared by projects."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import update
from template_data import create_template, order_template

from builders import create_customer, create_project, create_whatsapp_config, run_jobs
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig

API = "/api/v1/whatsapp_templates"


async def test_a_sync_meta_refuses_fails_with_metas_error(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(client, project, customer["id"])
    async with resources.db.transaction() as session:
        # Its token is not one the Graph API (the sandbox here) accepts.
        await session.execute(
            update(WhatsappConfig)
            .where(WhatsappConfig.id == uuid.UUID(config["id"]))
            .values(base_url=sandbox_url)
        )

    queued = await client.post(
        f"{API}/sync", headers=project.headers, json={"whatsapp_config_id": config["id"]}
    )
    await run_jobs(resources)

    assert queued.status_code == 202
    status = await client.get(
        f"{API}/sync_status", headers=project.headers, params={"whatsapp_config_id": config["id"]}
    )
    (run,) = status.json()["sync_requests"]
    assert run["status"] == "failed" and run["error_class"] == "PermanentGraphError"
    assert "code 190" in run["error_message"] and run["finished_at"] is not None
    assert status.json()["summary"]["failed"] == 1


async def test_a_sync_leaves_out_what_another_project_submitted_to_the_shared_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    draft = await create_template(client, theirs, order_template("their_secret"))
    await client.post(f"{API}/{draft['id']}/submit", headers=theirs.headers)

    await client.post(f"{API}/sync", headers=mine.headers)
    await client.post(f"{API}/sync", headers=theirs.headers)
    await run_jobs(resources)

    names = {t["name"] for t in (await client.get(API, headers=mine.headers)).json()["data"]}
    assert "their_secret" not in names and "hello_world" in names
    shown = (await client.get(API, headers=theirs.headers)).json()["data"]
    (their_own,) = [t for t in shown if t["name"] == "their_secret"]
    assert their_own["id"] == draft["id"] and their_own["status"] == "approved"


async def test_a_template_belongs_to_every_config_of_its_business_account(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    draft = await create_template(client, project, order_template())
    second = await create_whatsapp_config(client, project, customer["id"])
    elsewhere = await create_whatsapp_config(client, project, customer["id"])
    async with resources.db.transaction() as session:
        await session.execute(
            update(WhatsappConfig)
            .where(WhatsappConfig.id == uuid.UUID(second["id"]))
            .values(waba_id=draft["business_account_id"])
        )

    shown = (await client.get(f"{API}/{draft['id']}", headers=project.headers)).json()["data"]
    by_second = await client.get(
        API, headers=project.headers, params={"whatsapp_config_id": second["id"]}
    )
    by_elsewhere = await client.get(
        API, headers=project.headers, params={"whatsapp_config_id": elsewhere["id"]}
    )
    await client.post(
        f"{API}/sync", headers=project.headers, json={"whatsapp_config_id": second["id"]}
    )
    status = await client.get(f"{API}/sync_status", headers=project.headers)

    assert second["id"] in shown["whatsapp_config_ids"] and len(shown["whatsapp_config_ids"]) == 2
    assert elsewhere["id"] not in shown["whatsapp_config_ids"]
    assert [t["id"] for t in by_second.json()["data"]] == [draft["id"]]
    assert by_elsewhere.json()["data"] == []
    (run,) = status.json()["sync_requests"]
    assert sorted(run["affected_whatsapp_config_ids"]) == sorted(shown["whatsapp_config_ids"])
