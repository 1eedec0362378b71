"""WhatsApp configs through the API: create for a customer, read, list, update; secrets hidden."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from builders import (
    count_rows,
    create_customer,
    create_project,
    create_whatsapp_config,
    production_config_fields,
)
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig


async def _row(resources: Resources, config_id: str) -> WhatsappConfig:
    async with resources.db.read() as session:
        statement = select(WhatsappConfig).where(WhatsappConfig.id == uuid.UUID(config_id))
        row = (await session.execute(statement)).scalar_one()
        session.expunge(row)
        return row


async def test_a_production_config_hides_and_encrypts_its_secrets(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    fields = production_config_fields(
        webhook_verify_token="verify-me-123", app_secret="app-secret-456"
    )
    response = await client.post(
        f"/api/v1/customers/{customer['id']}/whatsapp_configs",
        headers=project.headers,
        json={"whatsapp_config": fields},
    )
    assert response.status_code == 201, response.text
    for secret in (fields["access_token"], "verify-me-123", "app-secret-456"):
        assert secret not in response.text
    config = response.json()["data"]
    assert config["kind"] == "production"
    assert config["customer_id"] == customer["id"]
    assert config["phone_number_id"] == fields["phone_number_id"]
    assert config["business_account_id"] == fields["business_account_id"]
    assert config["display_phone_number"] == "+1 555 010 2030"
    assert config["display_phone_number_normalized"] == "15550102030"
    assert config["display_name"] == "Support line (+1 555 010 2030)"
    assert config["graph_url"] == "https://graph.facebook.com"
    base = resources.settings.base_url()
    assert config["webhook_url"] == f"{base}/webhooks/whatsapp/{config['id']}"
    assert config["webhook_verify_token_set"] is config["app_secret_set"] is True
    assert config["inbound_processing_enabled"] is True
    assert config["calls_enabled"] is config["is_default"] is config["is_coexistence"] is False
    assert config["webhook_verified_at"] is None

    row = await _row(resources, config["id"])
    stored = [row.access_token_encrypted, row.webhook_verify_token_encrypted]
    stored.append(row.app_secret_encrypted)
    for ciphertext, secret in zip(
        stored, [fields["access_token"], "verify-me-123", "app-secret-456"], strict=True
    ):
        assert ciphertext is not None and secret not in ciphertext
        assert resources.cipher.decrypt(ciphertext) == secret

    for path in (f"/api/v1/whatsapp_configs/{config['id']}", "/api/v1/whatsapp_configs"):
        shown = await client.get(path, headers=project.headers)
        assert shown.status_code == 200
        for secret in (fields["access_token"], "verify-me-123", "app-secret-456"):
            assert secret not in shown.text


async def test_a_sandbox_config_uses_the_running_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(
        client, project, customer["id"], kind="sandbox", name="Try it"
    )
    assert config["kind"] == "sandbox"
    assert config["phone_number_id"] == SANDBOX_IDENTITY.phone_number_id
    assert config["business_account_id"] == SANDBOX_IDENTITY.waba_id
    assert config["graph_url"] == sandbox_url
    assert SANDBOX_IDENTITY.access_token not in str(config)
    assert (await _row(resources, config["id"])).base_url == ""  # no port stored
    refused = await client.post(
        f"/api/v1/customers/{customer['id']}/whatsapp_configs",
        headers=project.headers,
        json={"whatsapp_config": {"name": "S", "kind": "sandbox", "access_token": "mine"}},
    )
    assert refused.status_code == 422, refused.text
    assert "access_token" in refused.json()["message"]


async def test_the_projects_default_sandbox_config_is_listed(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    listing = await client.get("/api/v1/whatsapp_configs", headers=project.headers)
    assert listing.status_code == 200, listing.text
    [config] = listing.json()["data"]
    assert (config["kind"], config["is_default"], config["customer_id"]) == ("sandbox", True, None)
    assert config["graph_url"] == sandbox_url


async def test_bad_bodies_name_the_field_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    taken = await create_whatsapp_config(client, project, customer["id"])
    path = f"/api/v1/customers/{customer['id']}/whatsapp_configs"
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"name": "Line"}, ["phone_number_id", "business_account_id", "access_token"]),
        (production_config_fields(name=""), ["whatsapp_config.name"]),
        (production_config_fields(phone_number_id="12ab"), ["whatsapp_config.phone_number_id"]),
        (production_config_fields(business_account_id=""), ["business_account_id"]),
        (production_config_fields(access_token="has space"), ["access_token"]),
        (production_config_fields(display_phone_number="call me"), ["display_phone_number"]),
        (production_config_fields(graph_url="ftp://x"), ["graph_url"]),
        (production_config_fields(kind="staging"), ["whatsapp_config.kind"]),
        (production_config_fields(webhook_destination_url="https://x"), ["webhook_destination"]),
        (production_config_fields(calls_enabled="sometimes"), ["calls_enabled"]),
        (production_config_fields(access_token=None), ["access_token"]),
        (production_config_fields(phone_number_id=taken["phone_number_id"]), ["already"]),
    ]
    for fields, words in cases:
        response = await client.post(
            path, headers=project.headers, json={"whatsapp_config": fields}
        )
        assert response.status_code == 422, (fields, response.text)
        for word in words:
            assert word in response.json()["message"], (word, response.text)
        assert "has space" not in response.text  # a refused secret is not echoed
    not_json = await client.post(
        path, headers={**project.headers, "content-type": "application/json"}, content=b"{"
    )
    assert not_json.status_code == 400
    assert await count_rows(resources, WhatsappConfig) == 2  # the default one and ``taken``


async def test_a_number_is_connected_once_across_projects(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    first = await create_project(resources, sandbox_url)
    second = await create_project(resources, sandbox_url, name="Second")
    config = await create_whatsapp_config(
        client, first, (await create_customer(client, first))["id"]
    )
    other_customer = await create_customer(client, second)
    response = await client.post(
        f"/api/v1/customers/{other_customer['id']}/whatsapp_configs",
        headers=second.headers,
        json={
            "whatsapp_config": production_config_fields(phone_number_id=config["phone_number_id"])
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "Phone number already connected"
    assert config["id"] not in response.text  # nothing of the other project is revealed


async def test_lists_filter_and_page(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    acme = await create_customer(client, project, name="Acme")
    globex = await create_customer(client, project, name="Globex")
    sales = await create_whatsapp_config(client, project, acme["id"], name="Acme Sales")
    support = await create_whatsapp_config(
        client, project, acme["id"], name="Acme Support", business_account_id="4242"
    )
    other = await create_whatsapp_config(client, project, globex["id"], name="Globex Main")

    async def ids(path: str, **params: str | int) -> list[str]:
        response = await client.get(path, headers=project.headers, params=params)
        assert response.status_code == 200, response.text
        return [config["id"] for config in response.json()["data"]]

    everything = "/api/v1/whatsapp_configs"
    assert (await ids(everything))[:3] == [other["id"], support["id"], sales["id"]]
    assert len(await ids(everything)) == 4  # with the project's default sandbox config
    assert await ids(everything, business_account_id="4242") == [support["id"]]
    assert await ids(everything, **{"q[business_account_id_eq]": "4242"}) == [support["id"]]
    assert await ids(everything, **{"q[name_cont]": "acme"}) == [support["id"], sales["id"]]
    since = {"q[created_at_gteq]": support["created_at"]}
    assert await ids(everything, **since) == [other["id"], support["id"]]
    assert await ids(everything, per_page=1, page=3) == [sales["id"]]
    of_acme = f"/api/v1/customers/{acme['id']}/whatsapp_configs"
    assert await ids(of_acme) == [support["id"], sales["id"]]
    assert await ids(of_acme, **{"q[name_cont]": "support"}) == [support["id"]]
    page = await client.get(of_acme, headers=project.headers, params={"per_page": 1})
    assert page.json()["meta"] == {"page": 1, "per_page": 1, "total_pages": 2, "total_count": 2}
    bad = await client.get(everything, headers=project.headers, params={"per_page": 0})
    assert bad.status_code == 422


async def test_update_changes_only_what_is_sent(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(
        client, project, customer["id"], webhook_verify_token="old-verify"
    )
    path = f"/api/v1/whatsapp_configs/{config['id']}"
    change = {
        "name": "Renamed",
        "access_token": "rotated-token",
        "webhook_verify_token": None,
        "app_secret": "new-secret",
        "calls_enabled": True,
        "graph_url": "http://127.0.0.1:9/graph/",
    }
    response = await client.patch(path, headers=project.headers, json={"whatsapp_config": change})
    assert response.status_code == 200, response.text
    assert "rotated-token" not in response.text and "new-secret" not in response.text
    data = response.json()["data"]
    assert (data["name"], data["calls_enabled"]) == ("Renamed", True)
    assert data["webhook_verify_token_set"] is False and data["app_secret_set"] is True
    assert data["graph_url"] == "http://127.0.0.1:9/graph"
    assert data["phone_number_id"] == config["phone_number_id"]
    assert data["updated_at"] > config["updated_at"]
    row = await _row(resources, config["id"])
    assert resources.cipher.decrypt(row.access_token_encrypted) == "rotated-token"
    assert row.webhook_verify_token_encrypted is None

    for fields, word in [
        ({"kind": "sandbox"}, "kind"),
        ({"name": None}, "name"),
        ({"access_token": None}, "access_token"),
        ({"inbound_processing_enabled": None}, "inbound_processing_enabled"),
        ({"phone_number_id": "not digits"}, "phone_number_id"),
        ({"colour": "blue"}, "colour"),
    ]:
        refused = await client.patch(
            path, headers=project.headers, json={"whatsapp_config": fields}
        )
        assert refused.status_code == 422, (fields, refused.text)
        assert word in refused.json()["message"], refused.text
    assert (await client.get(path, headers=project.headers)).json()["data"] == data


async def test_a_sandbox_config_keeps_the_sandboxs_number(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    [default] = (await client.get("/api/v1/whatsapp_configs", headers=project.headers)).json()[
        "data"
    ]
    path = f"/api/v1/whatsapp_configs/{default['id']}"
    renamed = await client.patch(
        path, headers=project.headers, json={"whatsapp_config": {"name": "Playground"}}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["name"] == "Playground"
    for field in ("phone_number_id", "business_account_id", "access_token", "graph_url"):
        value = "https://example.com" if field == "graph_url" else "123"
        refused = await client.patch(
            path, headers=project.headers, json={"whatsapp_config": {field: value}}
        )
        assert refused.status_code == 422, refused.text
        assert field in refused.json()["message"]


async def test_bad_and_foreign_ids(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    intruder = await create_project(resources, sandbox_url, name="Intruder")
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(client, project, customer["id"])
    change = {"whatsapp_config": {"name": "Mine now"}}
    for config_id in (config["id"], str(uuid.uuid4())):
        path = f"/api/v1/whatsapp_configs/{config_id}"
        assert (await client.get(path, headers=intruder.headers)).status_code == 404
        patched = await client.patch(path, headers=intruder.headers, json=change)
        assert patched.status_code == 404, patched.text
        assert patched.json()["error"] == "WhatsApp config not found"
        assert (await client.delete(path, headers=intruder.headers)).status_code == 404
    foreign = await client.post(
        f"/api/v1/customers/{customer['id']}/whatsapp_configs",
        headers=intruder.headers,
        json={"whatsapp_config": production_config_fields()},
    )
    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["error"] == "Customer not found"
    listed = await client.get("/api/v1/whatsapp_configs", headers=intruder.headers)
    assert config["id"] not in listed.text
    malformed = await client.get("/api/v1/whatsapp_configs/123", headers=project.headers)
    assert malformed.status_code == 422
    assert "config_id" in malformed.json()["message"]
    still = await client.get(f"/api/v1/whatsapp_configs/{config['id']}", headers=project.headers)
    assert still.json()["data"]["name"] == config["name"]
    assert await count_rows(resources, WhatsappConfig) == 3  # two defaults and ``config``


async def test_concurrent_creates_of_one_number_connect_it_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    projects = [await create_project(resources, sandbox_url, name=f"P{i}") for i in range(5)]
    customers = [await create_customer(client, project) for project in projects]
    fields = production_config_fields()
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/customers/{customer['id']}/whatsapp_configs",
                headers=project.headers,
                json={"whatsapp_config": fields},
            )
            for project, customer in zip(projects, customers, strict=True)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201, 422, 422, 422, 422], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 422:
            assert answer.json()["error"] == "Phone number already connected"
    assert await count_rows(resources, WhatsappConfig) == 6  # five defaults and the winner


async def test_one_config_is_the_projects_default(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    [sandbox] = (await client.get("/api/v1/whatsapp_configs", headers=project.headers)).json()[
        "data"
    ]
    config = await create_whatsapp_config(client, project, customer["id"], is_default=True)
    assert config["is_default"] is True
    listing = await client.get("/api/v1/whatsapp_configs", headers=project.headers)
    defaults = {c["id"]: c["is_default"] for c in listing.json()["data"]}
    assert defaults == {config["id"]: True, sandbox["id"]: False}
    back = await client.patch(
        f"/api/v1/whatsapp_configs/{sandbox['id']}",
        headers=project.headers,
        json={"whatsapp_config": {"is_default": True}},
    )
    assert back.status_code == 200 and back.json()["data"]["is_default"] is True
    old = await client.get(f"/api/v1/whatsapp_configs/{config['id']}", headers=project.headers)
    assert old.json()["data"]["is_default"] is False
    refused = await client.patch(
        f"/api/v1/whatsapp_configs/{sandbox['id']}",
        headers=project.headers,
        json={"whatsapp_config": {"is_default": False}},
    )
    assert refused.status_code == 422 and "is_default" in refused.json()["message"]
