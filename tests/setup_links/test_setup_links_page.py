"""The page a setup link opens, over real HTTP: a sandbox number connected in one click."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx

from builders import count_rows, create_customer, create_project, create_setup_link, setup_path
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.resources import Resources
from threadline.models import SetupLink, WhatsappConfig

SUCCESS = "https://app.example/whatsapp/success?from=setup"


async def test_a_setup_link_connects_a_sandbox_number(
    live_url: str, resources: Resources, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(base_url=live_url) as http:
        project = await create_project(resources, sandbox_url)
        customer = await create_customer(http, project)
        link = await create_setup_link(http, project, customer["id"], success_redirect_url=SUCCESS)
        page = await http.get(setup_path(link))
        assert page.status_code == 200 and "connect-sandbox" in page.text
        assert "connect-meta" not in page.text  # no Meta app configured
        done = await http.post(setup_path(link) + "/sandbox")
        assert done.status_code == 303
        location = urlsplit(done.headers["location"])
        query = parse_qs(location.query)
        assert location.netloc == "app.example" and query["from"] == ["setup"]
        assert query["setup_link_id"] == [link["id"]]
        configs = await http.get(
            f"/api/v1/customers/{customer['id']}/whatsapp_configs", headers=project.headers
        )
        [config] = configs.json()["data"]
        assert query["whatsapp_config_id"] == [config["id"]]
        assert config["kind"] == "sandbox"
        assert config["phone_number_id"] == SANDBOX_IDENTITY.phone_number_id
        listing = await http.get(
            f"/api/v1/customers/{customer['id']}/setup_links", headers=project.headers
        )
        used = listing.json()["data"][0]
        assert used["status"] == "used" and used["whatsapp_config_id"] == config["id"]
        assert (await http.get(setup_path(link))).status_code == 410
        again = await http.post(setup_path(link) + "/sandbox")
        assert again.status_code == 410
        assert await count_rows(resources, WhatsappConfig) == 2  # the project's own + one
        gone = await http.delete(
            f"/api/v1/customers/{customer['id']}?force=true", headers=project.headers
        )
        assert gone.status_code == 204 and await count_rows(resources, SetupLink) == 0


async def test_the_page_is_themed_and_without_a_success_url_says_it_is_done(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    link = await create_setup_link(
        client, project, customer["id"], theme_config={"primary_color": "#10b981"}
    )
    page = await client.get(setup_path(link))
    assert "--primary-color:#10b981" in page.text and "--text-color:#0f172a" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    done = await client.post(setup_path(link) + "/sandbox")
    assert done.status_code == 200 and SANDBOX_IDENTITY.display_phone_number in done.text


async def test_unknown_and_ended_tokens_get_a_clear_page(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    unknown = await client.get(f"/setup/{uuid.uuid4().hex}")
    assert unknown.status_code == 404 and "not found" in unknown.text.lower()
    assert unknown.headers["content-type"].startswith("text/html")
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    link = await create_setup_link(client, project, customer["id"])
    await create_setup_link(client, project, customer["id"])
    revoked = await client.get(setup_path(link))
    assert revoked.status_code == 410 and "revoked" in revoked.text
    assert (await client.post(setup_path(link) + "/sandbox")).status_code == 410
    assert (await client.post(f"/setup/{uuid.uuid4().hex}/sandbox")).status_code == 404
    assert await count_rows(resources, WhatsappConfig) == 1
