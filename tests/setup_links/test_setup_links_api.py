"""Setup links through the API: create, list, update; revoke-on-create; 30-day expiry."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import httpx
from setup_links_clock import MovableClock

from builders import create_customer, create_project, create_setup_link, setup_path
from threadline.kit.resources import Resources
from threadline.models import SetupLink
from threadline.setup_links.schemas import DEFAULT_THEME
from threadline.setup_links.service import LINK_LIFETIME


def _links_path(customer_id: str) -> str:
    return f"/api/v1/customers/{customer_id}/setup_links"


async def test_a_new_link_is_active_for_30_days_with_the_defaults(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    answer = await client.post(_links_path(customer["id"]), headers=project.headers)
    assert answer.status_code == 201, answer.text
    link = answer.json()["data"]
    assert link["status"] == "active"
    assert link["url"].startswith(resources.settings.base_url() + "/setup/")
    assert len(setup_path(link)) > len("/setup/") + 40  # an unguessable token
    created, expires = (datetime.fromisoformat(link[k]) for k in ("created_at", "expires_at"))
    assert expires - created == LINK_LIFETIME
    assert link["allowed_connection_types"] == ["coexistence", "dedicated"]
    assert link["phone_number_country_isos"] == ["US"] and link["provision_phone_number"] is False
    assert link["theme_config"] == DEFAULT_THEME and link["provisioned_phone_number"] is None
    assert link["success_redirect_url"] is None and link["whatsapp_config_id"] is None
    token = setup_path(link).removeprefix("/setup/")
    async with resources.db.read() as session:
        row = await session.get(SetupLink, uuid.UUID(link["id"]))
        assert row is not None and token not in (row.token_encrypted, row.token_digest)
        assert row.token_digest == hashlib.sha256(token.encode()).hexdigest()


async def test_creating_a_link_revokes_the_active_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    other = await create_customer(client, project)
    first = await create_setup_link(client, project, customer["id"])
    kept = await create_setup_link(client, project, other["id"])
    second = await create_setup_link(
        client, project, customer["id"], success_redirect_url="https://app.example/ok"
    )
    listing = await client.get(_links_path(customer["id"]), headers=project.headers)
    assert listing.status_code == 200
    body = listing.json()
    assert [(x["id"], x["status"]) for x in body["data"]] == [
        (second["id"], "active"),
        (first["id"], "revoked"),
    ]
    assert body["meta"] == {
        "page": 1,
        "current_page": 1,
        "per_page": 20,
        "total_pages": 1,
        "total_count": 2,
    }
    assert (await client.get(setup_path(first))).status_code == 410
    assert (await client.get(setup_path(second))).status_code == 200
    others = await client.get(_links_path(other["id"]), headers=project.headers)
    assert [x["status"] for x in others.json()["data"]] == ["active"]
    assert others.json()["data"][0]["id"] == kept["id"]


async def test_update_changes_what_is_sent_and_revokes(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    link = await create_setup_link(
        client, project, customer["id"], theme_config={"primary_color": "#10b981"}
    )
    one = f"{_links_path(customer['id'])}/{link['id']}"
    changed = await client.patch(
        one,
        headers=project.headers,
        json={
            "setup_link": {
                "failure_redirect_url": "https://app.example/failed",
                "allowed_connection_types": ["dedicated"],
                "theme_config": {"background_color": "#f9fafb"},
            }
        },
    )
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert data["failure_redirect_url"] == "https://app.example/failed"
    assert data["allowed_connection_types"] == ["dedicated"]
    assert data["theme_config"]["primary_color"] == "#10b981"
    assert data["theme_config"]["background_color"] == "#f9fafb"
    assert data["url"] == link["url"]
    reset = await client.patch(
        one, headers=project.headers, json={"setup_link": {"theme_config": None}}
    )
    assert reset.json()["data"]["theme_config"] == DEFAULT_THEME
    revoked = await client.patch(
        one, headers=project.headers, json={"setup_link": {"status": "revoked"}}
    )
    assert revoked.json()["data"]["status"] == "revoked"
    assert (await client.get(setup_path(link))).status_code == 410
    again = await client.patch(
        one, headers=project.headers, json={"setup_link": {"status": "active"}}
    )
    assert again.status_code == 200 and again.json()["data"]["status"] == "active"


async def test_bad_input_is_a_422_listing_every_problem_and_changes_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    bad = {
        "success_redirect_url": "ftp://x",
        "allowed_connection_types": ["invalid"],
        "theme_config": {"primary_color": "blue"},
    }
    refused = await client.post(
        _links_path(customer["id"]), headers=project.headers, json={"setup_link": bad}
    )
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {
        "setup_link.success_redirect_url",
        "setup_link.allowed_connection_types.0",
        "setup_link.theme_config.primary_color",
    }
    listing = await client.get(_links_path(customer["id"]), headers=project.headers)
    assert listing.json()["data"] == []
    link = await create_setup_link(client, project, customer["id"])
    one = f"{_links_path(customer['id'])}/{link['id']}"
    for body in ({"status": "used"}, {"expires_at": "2020-01-01T00:00:00Z"}, {"status": None}):
        answer = await client.patch(one, headers=project.headers, json={"setup_link": body})
        assert answer.status_code == 422, body
    after = await client.get(_links_path(customer["id"]), headers=project.headers)
    assert after.json()["data"][0]["status"] == "active"


async def test_links_are_scoped_to_the_project_and_customer(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    intruder = await create_project(resources, sandbox_url, name="Other")
    customer = await create_customer(client, project)
    link = await create_setup_link(client, project, customer["id"])
    one = f"{_links_path(customer['id'])}/{link['id']}"
    revoke = {"setup_link": {"status": "revoked"}}
    assert (
        await client.get(_links_path(customer["id"]), headers=intruder.headers)
    ).status_code == 404
    assert (
        await client.post(_links_path(customer["id"]), headers=intruder.headers)
    ).status_code == 404
    assert (await client.patch(one, headers=intruder.headers, json=revoke)).status_code == 404
    elsewhere = f"{_links_path(customer['id'])}/{uuid.uuid4()}"
    assert (await client.patch(elsewhere, headers=project.headers, json=revoke)).status_code == 404


async def test_a_link_expires_after_30_days(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, clock: MovableClock
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    old = await create_setup_link(client, project, customer["id"])
    clock.advance(LINK_LIFETIME - timedelta(minutes=1))
    assert (await client.get(setup_path(old))).status_code == 200
    clock.advance(timedelta(minutes=2))
    listing = await client.get(_links_path(customer["id"]), headers=project.headers)
    assert listing.json()["data"][0]["status"] == "expired"
    page = await client.get(setup_path(old))
    assert page.status_code == 410 and "expired" in page.text
    one = f"{_links_path(customer['id'])}/{old['id']}"
    stale = await client.patch(
        one, headers=project.headers, json={"setup_link": {"status": "active"}}
    )
    assert stale.status_code == 422
    new = await create_setup_link(client, project, customer["id"])
    listing = await client.get(_links_path(customer["id"]), headers=project.headers)
    statuses = {x["id"]: x["status"] for x in listing.json()["data"]}
    assert statuses == {new["id"]: "active", old["id"]: "expired"}
    later = (datetime.fromisoformat(new["expires_at"]) + timedelta(days=1)).isoformat()
    extended = await client.patch(
        one, headers=project.headers, json={"setup_link": {"status": "active", "expires_at": later}}
    )
    assert extended.status_code == 200 and extended.json()["data"]["status"] == "active"
    listing = await client.get(_links_path(customer["id"]), headers=project.headers)
    statuses = {x["id"]: x["status"] for x in listing.json()["data"]}
    assert statuses == {new["id"]: "revoked", old["id"]: "active"}
