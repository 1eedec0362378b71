"""``/docs`` in a real browser with no internet: Swagger UI renders from local assets.

Uses Debian's chromium (``apt-get install chromium``), driven headless by Playwright; every
request to anything but 127.0.0.1 is blocked and recorded. Without chromium the test is
skipped, except under ``CI=true`` (``.ci/run`` installs it), where that is a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from support import CHROMIUM, CHROMIUM_ARGS, SECRET_KEY, free_port, require_chromium
from threadline.app import create_app
from threadline.config import Settings


@pytest.fixture
async def server_url(tmp_path: Path) -> AsyncIterator[str]:
    """A real Threadline server on a free local port (docs need no database rows)."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'docs.db'}",
        data_dir=tmp_path,
        secret_key=SECRET_KEY,
        embedded_worker=False,
    )
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_docs_pages_render_offline_in_chromium(server_url: str) -> None:
    require_chromium()
    from playwright.async_api import Route, async_playwright

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
            await page.goto(f"{server_url}/docs")
            await page.wait_for_selector(".opblock", timeout=20_000)
            operations = await page.locator(".opblock").count()
            await page.locator("button.authorize").first.click()
            dialog = page.locator(".modal-ux")
            await dialog.wait_for(timeout=5_000)
            dialog_text = await dialog.inner_text()
            await page.goto(f"{server_url}/sandbox/_sandbox/docs")
            await page.wait_for_selector(".opblock", timeout=20_000)
            sandbox_text = await page.locator(".swagger-ui").inner_text()
            await page.goto(f"{server_url}/redoc")
            resume = page.get_by_role("heading", name="Resume Execution")
            await resume.wait_for(state="attached", timeout=20_000)
        finally:
            await browser.close()
    assert blocked == [], f"the docs pages tried to reach other hosts: {blocked}"
    assert operations >= 15, operations
    assert "X-API-Key" in dialog_text
    assert "/_sandbox/outbox" in sandbox_text
