"""CRUD of a config's WhatsApp webhooks: secrets stay hidden, bad input is one 422."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from builders import TestProject, create_project, default_config_id
from threadline.kit.resources import Resources
from threadline.models import WhatsappWebhook


def hooks_url(config_id: str) -> str:
    """The webhooks collection of a config."""
    return f"/api/v1/whatsapp_configs/{config_id}/whatsapp_webhooks"


async def create_webhook(
    client: httpx.AsyncClient, project: TestProject, config_id: str, **fields: Any
) -> dict[str, Any]:
    """A webhook made through the API, as it answered."""
    body = {"url": "https://example.com/hook", "secret_key": "s3cret", "events": []} | fields
    if not body["events"]:
        body["events"] = ["whatsapp.message.received"]
    response = await client.post(
        hooks_url(config_id), headers=project.headers, json={"whatsapp_webhook": body}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_webhook_crud_round_trip(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    made = await create_webhook(
        client, project, config_id, headers={"X-Tenant": "t1"}, buffer_enabled=True
    )
    assert made["active"] is True and made["buffer_window_seconds"] == 5
    assert made["max_buffer_size"] == 50 and made["inactivity_minutes"] == 60
    assert made["buffer_events"] == ["whatsapp.message.received"]
    assert "secret_key" not in made and made["headers"] == {"X-Tenant": "t1"}
    async with resources.db.session() as session:
        row = (await session.execute(select(WhatsappWebhook))).scalar_one()
    assert row.secret_encrypted != "s3cret"
    assert resources.cipher.decrypt(row.secret_encrypted) == "s3cret"
    one = hooks_url(config_id) + f"/{made['id']}"
    patched = await client.patch(
        one, headers=project.headers, json={"whatsapp_webhook": {"active": False}}
    )
    assert patched.status_code == 200 and patched.json()["data"]["active"] is False
    listed = await client.get(
        hooks_url(config_id), headers=project.headers, params={"q[active_eq]": "false"}
    )
    assert [w["id"] for w in listed.json()["data"]] == [made["id"]]
    by_url = await client.get(
        hooks_url(config_id), headers=project.headers, params={"q[url_cont]": "EXAMPLE.com/h"}
    )
    assert [w["id"] for w in by_url.json()["data"]] == [made["id"]]
    none = await client.get(
        hooks_url(config_id), headers=project.headers, params={"q[url_cont]": "x.org"}
    )
    assert none.json()["data"] == [] and none.json()["meta"]["total_count"] == 0
    assert (await client.delete(one, headers=project.headers)).status_code == 204
    assert (await client.get(one, headers=project.headers)).status_code == 404


async def test_bad_input_is_one_422_listing_every_problem(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    body = {
        "url": "ftp://example.com",
        "events": ["whatsapp.message.nope"],
        "buffer_window_seconds": 0,
        "max_buffer_size": 101,
        "buffer_events": ["whatsapp.message.sent"],
        "inactivity_minutes": 2000,
        "headers": {"X-Webhook-Signature": "forged"},
    }
    response = await client.post(
        hooks_url(config_id), headers=project.headers, json={"whatsapp_webhook": body}
    )
    assert response.status_code == 422
    fields = {e["field"].split(".")[1] for e in response.json()["errors"]}
    assert fields >= {
        "url",
        "secret_key",
        "events",
        "buffer_window_seconds",
        "max_buffer_size",
        "buffer_events",
        "inactivity_minutes",
        "headers",
    }
    async with resources.db.session() as session:
        assert (await session.execute(select(WhatsappWebhook))).first() is None


async def test_a_url_the_egress_policy_refuses_is_a_422(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    for url in (
        "http://169.254.169.254/latest",
        "http://10.1.2.3/hook",
        "http://[::ffff:10.0.0.1]/",
    ):
        body = {"url": url, "secret_key": "k", "events": ["whatsapp.message.sent"]}
        response = await client.post(
            hooks_url(config_id), headers=project.headers, json={"whatsapp_webhook": body}
        )
        assert response.status_code == 422, url
        assert "egress refused" in response.json()["message"]
    made = await create_webhook(client, project, config_id)
    refused = await client.patch(
        hooks_url(config_id) + f"/{made['id']}",
        headers=project.headers,
        json={"whatsapp_webhook": {"url": "http://192.168.1.1/x"}},
    )
    assert refused.status_code == 422


async def test_another_projects_config_and_webhook_are_404(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner = await create_project(resources, sandbox_url, name="Owner")
    other = await create_project(resources, sandbox_url, name="Other")
    config_id = await default_config_id(resources, owner)
    made = await create_webhook(client, owner, config_id)
    assert (await client.get(hooks_url(config_id), headers=other.headers)).status_code == 404
    one = hooks_url(config_id) + f"/{made['id']}"
    assert (await client.get(one, headers=other.headers)).status_code == 404
    assert (await client.delete(one, headers=other.headers)).status_code == 404


async def test_deleting_a_config_deletes_its_webhooks_and_their_log(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    from builders import create_customer, create_whatsapp_config
    from threadline.models import WebhookDelivery

    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(client, project, customer["id"])
    made = await create_webhook(client, project, config["id"])
    async with resources.db.transaction() as session:
        row = await session.get(WhatsappWebhook, uuid.UUID(made["id"]))
        assert row is not None
        session.add(
            WebhookDelivery(
                project_id=row.project_id,
                webhook_id=row.id,
                whatsapp_config_id=row.whatsapp_config_id,
                event="whatsapp.message.sent",
                event_id="e1",
                body="{}",
                status="delivered",
                batch_size=1,
                attempts=1,
                created_at=row.created_at,
                updated_at=row.created_at,
            )
        )
    gone = await client.delete(f"/api/v1/whatsapp_configs/{config['id']}", headers=project.headers)
    assert gone.status_code == 204, gone.text
    async with resources.db.session() as session:
        assert (await session.execute(select(WhatsappWebhook))).first() is None
        assert (await session.execute(select(WebhookDelivery))).first() is None
