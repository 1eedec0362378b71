"""Template webhooks on both ways a delivery is stored: a group's set-based statements,
and one delivery alone (the fallback, and the retry job); a malformed change is the
delivery's error while the others are applied."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from template_data import create_template, order_template

from builders import SANDBOX_APP_SECRET, create_project, post_webhook, run_jobs, signed
from threadline.config import SANDBOX_IDENTITY
from threadline.inbound import receiver
from threadline.kit.resources import Resources
from threadline.models import InboundWebhook

API = "/api/v1/whatsapp_templates"


def _delivery(meta_id: str, event: str) -> dict[str, Any]:
    good = {"event": event, "message_template_id": int(meta_id), "reason": "NONE"}
    changes = [
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
        {"field": "message_template_status_update", "value": good},
    ]
    entry = {"id": SANDBOX_IDENTITY.waba_id, "time": 1760000000, "changes": changes}
    return {"object": "whatsapp_business_account", "entry": [entry]}


async def _submitted(client: httpx.AsyncClient, resources: Resources, sandbox_url: str) -> Any:
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    answer = (await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)).json()
    await run_jobs(resources)
    return project, draft["id"], answer["submission_id"]


async def _last_webhook(resources: Resources) -> InboundWebhook:
    async with resources.db.session() as session:
        query = select(InboundWebhook).order_by(InboundWebhook.id.desc()).limit(1)
        return (await session.execute(query)).scalar_one()


async def test_a_group_applies_the_good_change_and_reports_the_malformed_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project, template_id, meta_id = await _submitted(client, resources, sandbox_url)

    assert (await post_webhook(client, _delivery(meta_id, "DISABLED"))).status_code == 200

    shown = (await client.get(f"{API}/{template_id}", headers=project.headers)).json()["data"]
    assert shown["status"] == "disabled"
    stored = await _last_webhook(resources)
    assert stored.item_count == 2 and stored.errors is not None
    assert [e["item"] for e in stored.errors] == ["entry[0].changes[0].value"]


async def test_a_delivery_stored_alone_applies_it_the_same_way(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project, template_id, meta_id = await _submitted(client, resources, sandbox_url)
    raw, headers = signed(_delivery(meta_id, "PAUSED"))
    secrets = receiver.Secrets(resources.cipher, SANDBOX_APP_SECRET, None)

    async with resources.db.transaction() as session:
        await receiver.receive(
            session, raw, headers["X-Hub-Signature-256"], secrets, resources.settings
        )

    shown = (await client.get(f"{API}/{template_id}", headers=project.headers)).json()["data"]
    assert (shown["status"], shown["metadata"]["meta_status"]) == ("disabled", "PAUSED")
    stored = await _last_webhook(resources)
    assert [e["item"] for e in stored.errors or []] == ["entry[0].changes[0].value"]
