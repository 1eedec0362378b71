"""A person chats with a real flow in headless Chromium, through the sandbox's chat page.

The page talks only to the sandbox's control API; the sandbox sends signed webhooks to
the platform (a real uvicorn server); the platform's worker runs the flow and sends its
answers through the sandbox's Graph API. Type "hi", get the flow's buttons, tap one,
see the flow's answer. Skipped without chromium, except under ``CI=true``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from test_inbound_drives_flows import menu_flow

from builders import add_inbound_trigger, create_active_flow, create_project
from support import CHROMIUM, CHROMIUM_ARGS, require_chromium
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources

PHONE = "15557650000"


async def test_a_person_taps_a_flows_button_in_chromium_and_the_flow_answers(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
) -> None:
    require_chromium()
    from playwright.async_api import Route, async_playwright, expect

    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, menu_flow())
    await add_inbound_trigger(client, project, flow_id, keywords=["hi"])
    blocked: list[str] = []

    async def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.route("**/*", local_only)
            await page.goto(f"{sandbox_url}/_sandbox/chat")
            await page.fill("#phone", PHONE)
            await page.fill("#name", "Lin")
            await page.click("#open")
            await page.fill("#text", "hi")
            await page.click("#send")

            yes = page.locator(".msg.out button.reply", has_text="Yes please")
            await expect(yes).to_be_visible(timeout=15_000)
            await expect(page.locator(".msg.out", has_text="Hello hi! Coffee?")).to_be_visible()
            await yes.click()

            answer = page.locator(".msg.out", has_text="Brewing (yes)")
            await expect(answer).to_be_visible(timeout=15_000)
            ticks = answer.locator(".ticks")
            await expect(ticks).to_have_attribute("data-status", "read", timeout=15_000)
        finally:
            await browser.close()
    assert blocked == [], f"the chat page tried to reach other hosts: {blocked}"
