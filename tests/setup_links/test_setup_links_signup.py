"""Embedded signup's code exchange, against the sandbox playing Meta, over real HTTP.

The code comes from the sandbox's signup emulation (what its popup gets); the backend
exchanges it (``oauth/access_token``), finds the shared WABA (``debug_token``), lists
its numbers, subscribes the app and creates the customer's config, token encrypted.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from builders import count_rows, create_customer, create_project, create_setup_link, setup_path
from threadline.config import SANDBOX_IDENTITY, Settings
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig

SUCCESS, FAILURE = "https://app.example/ok", "https://app.example/failed"


@pytest.fixture
def settings(settings: Settings, sandbox_url: str) -> Settings:
    """A Meta app configured, whose Graph API and signup dialog are the sandbox's."""
    return settings.model_copy(
        update={
            "meta_app_id": SANDBOX_IDENTITY.app_id,
            "meta_app_secret": SANDBOX_IDENTITY.app_secret,
            "meta_signup_config_id": "123456789",
            "graph_url": sandbox_url,
            "signup_dialog_url": sandbox_url,
        }
    )


async def _code(sandbox_url: str, **body: Any) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{sandbox_url}/_sandbox/embedded_signup", json=body or None)
    assert answer.status_code == 200, answer.text
    code: str = answer.json()["code"]
    return code


async def _link(client: httpx.AsyncClient, resources: Resources, sandbox_url: str) -> Any:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    link = await create_setup_link(
        client, project, customer["id"], success_redirect_url=SUCCESS, failure_redirect_url=FAILURE
    )
    return project, customer, link


def _form(code: str, kind: str = "dedicated") -> dict[str, Any]:
    return {"content": f"code={code}&connection_type={kind}", "headers": _FORM}


_FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_embedded_signup_connects_the_shared_number(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project, customer, link = await _link(client, resources, sandbox_url)
    page = await client.get(setup_path(link))
    assert "connect-meta" in page.text and f"{sandbox_url}/v23.0/dialog/oauth" in page.text
    code = await _code(sandbox_url)
    done = await client.post(setup_path(link) + "/embedded_signup", **_form(code, "coexistence"))
    assert done.status_code == 303, done.text
    location = urlsplit(done.headers["location"])
    assert location._replace(query="").geturl() == SUCCESS
    config_id = parse_qs(location.query)["whatsapp_config_id"][0]
    async with resources.db.read() as session:
        config = (
            await session.execute(
                select(WhatsappConfig).where(WhatsappConfig.id == uuid.UUID(config_id))
            )
        ).scalar_one()
        assert config.kind == "production" and str(config.customer_id) == customer["id"]
        assert config.phone_number_id == SANDBOX_IDENTITY.phone_number_id
        assert config.waba_id == SANDBOX_IDENTITY.waba_id and config.is_coexistence
        assert config.access_token_encrypted != SANDBOX_IDENTITY.access_token
        token = resources.cipher.decrypt(config.access_token_encrypted)
        assert token == SANDBOX_IDENTITY.access_token
    listing = await client.get(
        f"/api/v1/customers/{customer['id']}/setup_links", headers=project.headers
    )
    assert listing.json()["data"][0]["status"] == "used"
    health = await client.get(
        f"/api/v1/whatsapp_configs/{config_id}/health", headers=project.headers
    )
    assert health.status_code == 200 and health.json()["checks"]["phone_number_access"]["passed"]


async def _used_code(sandbox_url: str) -> str:
    code = await _code(sandbox_url)
    async with httpx.AsyncClient() as http:
        params = {
            "client_id": SANDBOX_IDENTITY.app_id,
            "client_secret": SANDBOX_IDENTITY.app_secret,
            "code": code,
        }
        first = await http.get(f"{sandbox_url}/v23.0/oauth/access_token", params=params)
    assert first.status_code == 200
    return code


async def test_bad_codes_redirect_to_failure_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project, customer, link = await _link(client, resources, sandbox_url)
    before = await count_rows(resources, WhatsappConfig)
    codes = {
        "unknown": "AQ-not-a-code",
        "expired": await _code(sandbox_url, ttl_seconds=0),
        "used": await _used_code(sandbox_url),
    }
    for problem, code in codes.items():
        failed = await client.post(setup_path(link) + "/embedded_signup", **_form(code))
        assert failed.status_code == 303, problem
        location = urlsplit(failed.headers["location"])
        assert location._replace(query="").geturl() == FAILURE
        query = parse_qs(location.query)
        assert query["error"] == ["signup_failed"], problem
        assert "code" in query["message"][0], problem
        assert await count_rows(resources, WhatsappConfig) == before
    listing = await client.get(
        f"/api/v1/customers/{customer['id']}/setup_links", headers=project.headers
    )
    assert listing.json()["data"][0]["status"] == "active"  # it can be tried again


async def test_a_connection_type_the_link_does_not_offer_is_refused(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    link = await create_setup_link(
        client, project, customer["id"], allowed_connection_types=["dedicated"]
    )
    code = await _code(sandbox_url)
    refused = await client.post(setup_path(link) + "/embedded_signup", **_form(code, "coexistence"))
    assert refused.status_code == 422 and "coexistence" in refused.text
    assert await count_rows(resources, WhatsappConfig) == 1
