"""The receiver's cached config lookups: a change in this process is seen at once, one made
elsewhere within the cache's TTL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from builders import create_customer, create_project, create_whatsapp_config, signed
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig, WhatsappMessage
from threadline.whatsapp_configs import cache

pytestmark = pytest.mark.usefixtures("sandbox")


def _delivery(phone_number_id: str, wamid: str) -> dict[str, Any]:
    message = {"from": "15550007777", "id": wamid, "timestamp": "1760000000", "type": "text"}
    message["text"] = {"body": "hello"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550102030", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Ada"}, "wa_id": "15550007777"}],
        "messages": [message],
    }
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


async def _post(
    client: httpx.AsyncClient, config: dict[str, Any], wamid: str, secret: str, *, own_url: bool
) -> int:
    raw, headers = signed(json.dumps(_delivery(config["phone_number_id"], wamid)).encode(), secret)
    path = f"/webhooks/whatsapp/{config['id']}" if own_url else "/webhooks/whatsapp"
    return (await client.post(path, content=raw, headers=headers)).status_code


async def _production_config(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, secret: str
) -> tuple[Any, dict[str, Any]]:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(client, project, customer["id"], app_secret=secret)
    return project, config


async def _wamids(resources: Resources) -> list[str]:
    async with resources.db.session() as session:
        return sorted((await session.execute(select(WhatsappMessage.wamid))).scalars())


@pytest.mark.parametrize("own_url", [False, True], ids=["app-url", "config-url"])
async def test_a_deleted_config_stops_receiving_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, own_url: bool
) -> None:
    project, config = await _production_config(client, resources, sandbox_url, "s-1")
    assert await _post(client, config, "wamid.before", "s-1", own_url=own_url) == 200
    assert await _wamids(resources) == ["wamid.before"]

    deleted = await client.delete(
        f"/api/v1/whatsapp_configs/{config['id']}?force=true", headers=project.headers
    )
    assert deleted.status_code in (200, 204), deleted.text

    # Cached, the deleted number would still check this signature and take the message.
    answer = await _post(client, config, "wamid.after", "s-1", own_url=own_url)
    assert answer == (404 if own_url else 401)
    assert await _wamids(resources) == []


@pytest.mark.parametrize("own_url", [False, True], ids=["app-url", "config-url"])
async def test_a_rotated_app_secret_is_the_one_checked_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, own_url: bool
) -> None:
    project, config = await _production_config(client, resources, sandbox_url, "old-secret")
    assert await _post(client, config, "wamid.1", "old-secret", own_url=own_url) == 200

    rotated = await client.patch(
        f"/api/v1/whatsapp_configs/{config['id']}",
        headers=project.headers,
        json={"whatsapp_config": {"app_secret": "new-secret"}},
    )
    assert rotated.status_code == 200, rotated.text

    assert await _post(client, config, "wamid.2", "old-secret", own_url=own_url) == 401
    assert await _post(client, config, "wamid.3", "new-secret", own_url=own_url) == 200
    assert await _wamids(resources) == ["wamid.1", "wamid.3"]


async def test_a_change_made_by_another_process_is_seen_within_the_ttl(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(cache.cache, "clock", lambda: now[0])
    _project, config = await _production_config(client, resources, sandbox_url, "old-secret")
    assert await _post(client, config, "wamid.1", "old-secret", own_url=False) == 200
    new_secret = resources.cipher.encrypt("new-secret")
    async with resources.db.transaction() as session:  # as another server would: no hook
        await session.execute(update(WhatsappConfig).values(app_secret_encrypted=new_secret))

    now[0] += cache.cache.ttl - 0.5
    assert await _post(client, config, "wamid.2", "old-secret", own_url=False) == 200
    now[0] += 1.0
    assert await _post(client, config, "wamid.3", "old-secret", own_url=False) == 401
    assert await _post(client, config, "wamid.4", "new-secret", own_url=False) == 200
