"""Customers and WhatsApp configs, checked against the Kapso v1 reference specs.

``openapi.yaml`` and ``openapi-platform.yaml`` declare ``webhook_verify_token`` and
``webhook_destination_url`` in their ``WhatsappConfig`` although both say the fields are
write-only and never returned; ``openapi-whatsapp.yaml``'s ``WhatsappConfig`` omits them.
The platform paths are therefore checked with the WhatsApp spec's ``WhatsappConfig``
(explicitly, below), and the config bodies listed come from customers: the project's own
sandbox config has no customer, and its ``customer_id`` is null, which the reference's
non-nullable ``customer_id`` does not foresee.
"""

from __future__ import annotations

import uuid

import httpx
from test_contract_kapso_v1 import CORE, PLATFORM, Spec, check, load_spec

from builders import (
    create_customer,
    create_project,
    create_whatsapp_config,
    production_config_fields,
)
from threadline.kit.resources import Resources

WHATSAPP = "openapi-whatsapp.yaml"
NO_KEY = {"X-API-Key": "tl_wrong"}


def platform_spec() -> Spec:
    """The platform spec with the WhatsApp spec's ``WhatsappConfig`` (no write-only fields)."""
    config = load_spec(WHATSAPP).schemas["WhatsappConfig"]
    return load_spec(PLATFORM).with_schemas({"WhatsappConfig": config})


async def test_contract_customers(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    core, platform = load_spec(CORE), load_spec(PLATFORM)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    created = await client.post(
        "/api/v1/customers",
        headers=h,
        json={"customer": {"name": "A", "external_customer_id": "1"}},
    )
    assert created.status_code == 201
    check(core, "/customers", created)
    refused = await client.post("/api/v1/customers", headers=h, json={"customer": {"name": "B"}})
    assert refused.status_code == 422
    check(core, "/customers", refused)
    listing = await client.get("/api/v1/customers", headers=h, params={"q[name_cont]": "a"})
    assert listing.status_code == 200 and listing.json()["data"]
    check(core, "/customers", listing)
    check(platform, "/customers", listing)
    unauthorized = await client.get("/api/v1/customers", headers=NO_KEY)
    assert unauthorized.status_code == 401
    check(core, "/customers", unauthorized)
    check(platform, "/customers", unauthorized)

    customer_id = created.json()["data"]["id"]
    one, missing = f"/api/v1/customers/{customer_id}", f"/api/v1/customers/{uuid.uuid4()}"
    answers = [
        await client.get(one, headers=h),
        await client.get(missing, headers=h),
        await client.patch(one, headers=h, json={"customer": {"name": "A2"}}),
        await client.patch(one, headers=h, json={"customer": {"name": ""}}),
        await client.patch(missing, headers=h, json={"customer": {"name": "A2"}}),
        await client.delete(missing, headers=h),
        await client.delete(one, headers=h),
    ]
    assert [a.status_code for a in answers] == [200, 404, 200, 422, 404, 404, 204]
    for answer in answers:
        check(core, "/customers/{customer_id}", answer)
        check(platform, "/customers/{id}", answer)


async def test_contract_customer_whatsapp_configs(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    platform = platform_spec()
    project = await create_project(resources, sandbox_url)
    h = project.headers
    customer = await create_customer(client, project)
    path = "/customers/{customer_id}/whatsapp_configs"
    mine = f"/api/v1/customers/{customer['id']}/whatsapp_configs"
    nobody = f"/api/v1/customers/{uuid.uuid4()}/whatsapp_configs"
    body = {"whatsapp_config": {"name": "Sandbox", "kind": "sandbox"}}
    production = {"whatsapp_config": production_config_fields(webhook_verify_token="v")}
    answers = [
        await client.post(mine, headers=h, json=body),
        await client.post(mine, headers=h, json=production),
        await client.post(mine, headers=h, json={"whatsapp_config": {"name": "Prod"}}),
        await client.post(nobody, headers=h, json=body),
        await client.get(mine, headers=h),
        await client.get(nobody, headers=h),
        await client.get(mine, headers=NO_KEY),
    ]
    assert [a.status_code for a in answers] == [201, 201, 422, 404, 200, 404, 401]
    assert len(answers[4].json()["data"]) == 2
    for answer in answers:
        check(platform, path, answer)


async def test_contract_whatsapp_configs(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    whatsapp, platform = load_spec(WHATSAPP), platform_spec()
    project = await create_project(resources, sandbox_url)
    h = project.headers
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(client, project, customer["id"])
    await create_whatsapp_config(client, project, customer["id"], kind="sandbox")
    listing = await client.get(
        "/api/v1/whatsapp_configs",
        headers=h,
        params={"business_account_id": config["business_account_id"]},
    )
    assert listing.status_code == 200 and len(listing.json()["data"]) == 1
    check(whatsapp, "/whatsapp_configs", listing)
    unauthorized = await client.get("/api/v1/whatsapp_configs", headers=NO_KEY)
    check(whatsapp, "/whatsapp_configs", unauthorized)

    one = f"/api/v1/whatsapp_configs/{config['id']}"
    missing = f"/api/v1/whatsapp_configs/{uuid.uuid4()}"
    answers = [
        await client.get(one, headers=h),
        await client.get(missing, headers=h),
        await client.patch(one, headers=h, json={"whatsapp_config": {"name": "New"}}),
        await client.patch(one, headers=h, json={"whatsapp_config": {"kind": "sandbox"}}),
        await client.patch(missing, headers=h, json={"whatsapp_config": {"name": "New"}}),
        await client.delete(missing, headers=h),
        await client.delete(one, headers=h),
    ]
    assert [a.status_code for a in answers] == [200, 404, 200, 422, 404, 404, 204]
    for answer in answers:
        check(whatsapp, "/whatsapp_configs/{id}", answer)
        check(platform, "/whatsapp_configs/{whatsapp_config_id}", answer)


async def test_contract_whatsapp_config_health(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    """An unhealthy report (a token the sandbox refuses: every check fails) and a 404.

    The reference declares ``error`` on the report and on most checks; a passing check or
    a healthy report has no error to give, so only the failing report shows every field.
    The platform spec's ``overall_status`` enum has no value for "Meta did not say", so the
    WhatsApp spec (a plain string) is the one checked.
    """
    whatsapp = load_spec(WHATSAPP)
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await create_whatsapp_config(
        client, project, customer["id"], access_token="EAAG-refused", graph_url=sandbox_url
    )
    report = await client.get(
        f"/api/v1/whatsapp_configs/{config['id']}/health", headers=project.headers
    )
    assert report.status_code == 200 and report.json()["status"] == "unhealthy"
    check(whatsapp, "/whatsapp_configs/{id}/health", report)
    missing = await client.get(
        f"/api/v1/whatsapp_configs/{uuid.uuid4()}/health", headers=project.headers
    )
    assert missing.status_code == 404
    check(whatsapp, "/whatsapp_configs/{id}/health", missing)
