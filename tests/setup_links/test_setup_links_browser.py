"""The setup page in headless Chromium: a sandbox number, then embedded signup's popup.

Both run against a real server (``live_url``); the signup popup is the sandbox playing
Facebook. Skipped without chromium, except under ``CI=true``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from builders import create_customer, create_project, create_setup_link, setup_path
from support import CHROMIUM, CHROMIUM_ARGS, require_chromium
from threadline.config import SANDBOX_IDENTITY, Settings
from threadline.kit.resources import Resources


@pytest.fixture
def settings(settings: Settings, sandbox_url: str) -> Settings:
    """A Meta app configured, whose Graph API and signup dialog are the sandbox's."""
    return settings.model_copy(
        update={
            "meta_app_id": SANDBOX_IDENTITY.app_id,
            "meta_app_secret": SANDBOX_IDENTITY.app_secret,
            "graph_url": sandbox_url,
            "signup_dialog_url": sandbox_url,
        }
    )


async def test_chromium_connects_a_sandbox_number_and_a_signed_up_one(
    live_url: str, resources: Resources, sandbox_url: str
) -> None:
    require_chromium()
    from playwright.async_api import async_playwright, expect

    done = f"{live_url}/health"
    async with httpx.AsyncClient(base_url=live_url) as http:
        project = await create_project(resources, sandbox_url)
        trial, business = [await create_customer(http, project) for _ in range(2)]
        trial_link = await create_setup_link(http, project, trial["id"], success_redirect_url=done)
        signup_link = await create_setup_link(
            http, project, business["id"], success_redirect_url=done
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.goto(live_url + setup_path(trial_link))
                await page.click("#connect-sandbox")
                await page.wait_for_url(f"{done}?*")
                trial_landing = page.url

                await page.goto(live_url + setup_path(signup_link))
                await page.check("input[value=dedicated]")
                async with page.expect_popup() as opened:
                    await page.click("#connect-meta")
                popup = await opened.value
                await expect(popup.locator("#continue")).to_be_visible()
                await popup.click("#continue")
                await page.wait_for_url(f"{done}?*", timeout=10_000)
                signup_landing = page.url
            finally:
                await browser.close()
        configs = {}
        for customer in (trial, business):
            answer = await http.get(
                f"/api/v1/customers/{customer['id']}/whatsapp_configs", headers=project.headers
            )
            [configs[customer["id"]]] = answer.json()["data"]

    trial_config, business_config = configs[trial["id"]], configs[business["id"]]
    assert trial_config["kind"] == "sandbox" and business_config["kind"] == "production"
    assert business_config["is_coexistence"] is False
    for landing, config in ((trial_landing, trial_config), (signup_landing, business_config)):
        assert parse_qs(urlsplit(landing).query)["whatsapp_config_id"] == [config["id"]]
