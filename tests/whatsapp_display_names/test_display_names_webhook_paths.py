"""Meta's ``phone_number_name_update`` on both ways a delivery is stored: a group's, and
one delivery alone; a malformed change is the delivery's error, the good one applied; a
review of another name or number leaves the request waiting."""

from __future__ import annotations

from typing import Any

import httpx
from names_data import ask, production_config, requests_url
from sqlalchemy import select

from builders import SANDBOX_APP_SECRET, TestProject, create_project, post_webhook, signed
from threadline.config import SANDBOX_IDENTITY
from threadline.inbound import receiver
from threadline.kit.resources import Resources
from threadline.models import InboundWebhook
from threadline.sandbox.state import SandboxState

FIELD = "phone_number_name_update"


def _delivery(decision: str, name: str, number: str | None = None) -> dict[str, Any]:
    digits = "".join(c for c in SANDBOX_IDENTITY.display_phone_number if c.isdigit())
    good = {
        "display_phone_number": number or digits,
        "decision": decision,
        "requested_verified_name": name,
        "rejection_reason": "NONE" if decision != "REJECTED" else "POLICY",
    }
    changes = [{"field": FIELD, "value": {"decision": decision}}, {"field": FIELD, "value": good}]
    entry = {"id": SANDBOX_IDENTITY.waba_id, "time": 1760000000, "changes": changes}
    return {"object": "whatsapp_business_account", "entry": [entry]}


async def _pending(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> tuple[TestProject, str, str]:
    sandbox.settings.name_review = "PENDING"
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    created = (await ask(client, project, config_id, "Acme")).json()["data"]
    assert created["status"] == "pending_review"
    return project, config_id, created["id"]


async def _status(
    client: httpx.AsyncClient, project: TestProject, config_id: str, request_id: str
) -> Any:
    url = f"{requests_url(config_id)}/{request_id}"
    return (await client.get(url, headers=project.headers)).json()["data"]


async def _last_webhook(resources: Resources) -> InboundWebhook:
    async with resources.db.session() as session:
        query = select(InboundWebhook).order_by(InboundWebhook.id.desc()).limit(1)
        return (await session.execute(query)).scalar_one()


async def test_a_group_applies_the_good_change_and_reports_the_malformed_one(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project, config_id, request_id = await _pending(client, resources, sandbox, sandbox_url)

    assert (await post_webhook(client, _delivery("REJECTED", "Acme"))).status_code == 200

    shown = await _status(client, project, config_id, request_id)
    assert (shown["status"], shown["rejection_reason"]) == ("declined", "POLICY")
    stored = await _last_webhook(resources)
    assert stored.item_count == 2
    assert [e["item"] for e in stored.errors or []] == ["entry[0].changes[0].value"]


async def test_a_delivery_stored_alone_applies_it_the_same_way(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project, config_id, request_id = await _pending(client, resources, sandbox, sandbox_url)
    raw, headers = signed(_delivery("APPROVED", "Acme"))
    secrets = receiver.Secrets(resources.cipher, SANDBOX_APP_SECRET, None)

    async with resources.db.transaction() as session:
        await receiver.receive(
            session, raw, headers["X-Hub-Signature-256"], secrets, resources.settings
        )

    shown = await _status(client, project, config_id, request_id)
    assert shown["status"] == "approved" and shown["reviewed_at"] is not None
    stored = await _last_webhook(resources)
    assert [e["item"] for e in stored.errors or []] == ["entry[0].changes[0].value"]


async def test_a_review_of_another_name_or_number_leaves_the_request_waiting(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project, config_id, request_id = await _pending(client, resources, sandbox, sandbox_url)

    await post_webhook(client, _delivery("APPROVED", "Someone Else"))
    await post_webhook(client, _delivery("APPROVED", "Acme", number="15559990000"))

    assert (await _status(client, project, config_id, request_id))["status"] == "pending_review"
