"""A config made through the API works with Meta's webhooks at the URL it shows."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from builders import (
    create_customer,
    create_project,
    create_whatsapp_config,
    delivery,
    inbound_text,
    signed,
)
from threadline.kit.resources import Resources


async def test_the_shown_webhook_url_takes_the_configs_token_and_secret(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(
        client, project, customer["id"], webhook_verify_token="verify-123", app_secret="s-456"
    )
    path = urlsplit(config["webhook_url"]).path
    assert path == f"/webhooks/whatsapp/{config['id']}"

    wrong = await client.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "7"}
    )
    assert wrong.status_code in (401, 403), wrong.text
    handshake = await client.get(
        path,
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-123", "hub.challenge": "42"},
    )
    assert handshake.status_code == 200, handshake.text
    assert handshake.text == "42"
    shown = await client.get(f"/api/v1/whatsapp_configs/{config['id']}", headers=project.headers)
    assert shown.json()["data"]["webhook_verified_at"] is not None

    body = delivery(messages=[inbound_text("wamid.cfg-1", "hi")])
    raw, headers = signed(body, "sandbox-app-secret")
    assert (await client.post(path, content=raw, headers=headers)).status_code == 401
    raw, headers = signed(body, "s-456")
    accepted = await client.post(path, content=raw, headers=headers)
    assert accepted.status_code == 200, accepted.text

    cleared = await client.patch(
        f"/api/v1/whatsapp_configs/{config['id']}",
        headers=project.headers,
        json={"whatsapp_config": {"webhook_verify_token": None}},
    )
    assert cleared.status_code == 200
    again = await client.get(
        path,
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-123", "hub.challenge": "9"},
    )
    assert again.status_code in (401, 403), again.text
