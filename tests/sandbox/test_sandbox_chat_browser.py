"""The chat page in headless Chromium, against a stub platform that checks signatures.

The stub plays the platform: it verifies each webhook's ``X-Hub-Signature-256`` (401 if
wrong), answers a "hi" with two reply buttons and a tap with a text, both sent through the
sandbox's Graph API like any platform would. A person types "hi", taps "Yes", and sees
the answer and the ticks. Skipped without chromium, except under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from sandbox_receiver import Received, Receiver

from support import CHROMIUM, CHROMIUM_ARGS, free_port, require_chromium
from threadline.config import SANDBOX_IDENTITY
from threadline.sandbox import SandboxConfig, SandboxState, create_sandbox_app

PHONE = "15557654321"


class StubPlatform:
    """Answers webhooks like a tiny flow: "hi" gets buttons, a tap gets a text."""

    def __init__(self, graph: httpx.AsyncClient) -> None:
        self.graph = graph
        self.rejected = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, received: Received) -> int:
        expected = hmac.new(SANDBOX_IDENTITY.app_secret.encode(), received.body, hashlib.sha256)
        signature = received.headers.get("x-hub-signature-256", "")
        if not hmac.compare_digest(signature, "sha256=" + expected.hexdigest()):
            self.rejected += 1
            return 401
        for message in received.value().get("messages", []):
            task = asyncio.create_task(self.answer(message))  # acknowledge first, like a platform
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return 200

    async def answer(self, message: dict[str, Any]) -> None:
        if message["type"] == "text" and message["text"]["body"].strip().lower() == "hi":
            await self.send(message["from"], _buttons())
        elif message["type"] == "interactive":
            title = message["interactive"]["button_reply"]["title"]
            await self.send(
                message["from"], {"type": "text", "text": {"body": f"You chose {title}"}}
            )

    async def send(self, to: str, content: dict[str, Any]) -> None:
        path = f"/{SANDBOX_IDENTITY.api_version}/{SANDBOX_IDENTITY.phone_number_id}/messages"
        response = await self.graph.post(path, json={"messaging_product": "whatsapp", "to": to,
                                                     **content})  # fmt: skip
        response.raise_for_status()


def _buttons() -> dict[str, Any]:
    replies = [
        {"type": "reply", "reply": {"id": key, "title": key.title()}} for key in ("yes", "no")
    ]
    return {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Ready?"},
                                                   "action": {"buttons": replies}}}  # fmt: skip


@pytest.fixture
async def live_sandbox(receiver: Receiver) -> AsyncIterator[tuple[str, SandboxState]]:
    """A real HTTP sandbox that webhooks the receiver."""
    app = create_sandbox_app(SandboxConfig(webhook_url=receiver.url))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}", app.state.sandbox
    server.should_exit = True
    await task


async def test_a_person_chats_with_the_platform_in_chromium(
    live_sandbox: tuple[str, SandboxState], receiver: Receiver
) -> None:
    require_chromium()
    from playwright.async_api import Route, async_playwright, expect

    base, state = live_sandbox
    headers = {"Authorization": f"Bearer {SANDBOX_IDENTITY.access_token}"}
    blocked: list[str] = []

    async def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async with httpx.AsyncClient(base_url=base, headers=headers) as graph:
        platform = StubPlatform(graph)
        receiver.handler = platform
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.route("**/*", local_only)
                await page.goto(f"{base}/_sandbox/chat")
                await page.fill("#phone", PHONE)
                await page.fill("#name", "Dora")
                await page.click("#open")
                await page.fill("#text", "hi")
                await page.click("#send")

                yes = page.locator(".msg.out button.reply", has_text="Yes")
                await expect(yes).to_be_visible(timeout=10_000)
                await expect(page.locator(".msg.out button.reply")).to_have_count(2)
                await yes.click()

                answer = page.locator(".msg.out", has_text="You chose Yes")
                await expect(answer).to_be_visible(timeout=10_000)
                # The page has the thread open, so the platform's messages become read.
                ticks = answer.locator(".ticks")
                await expect(ticks).to_have_attribute("data-status", "read", timeout=10_000)
                await expect(ticks).to_have_text("✓✓")
                inbound = await page.locator(".msg.in .text").all_inner_texts()
            finally:
                await browser.close()

    assert blocked == [], f"the chat page tried to reach other hosts: {blocked}"
    assert inbound == ["hi", "Yes"]
    assert platform.rejected == 0
    tap = next(
        m for r in receiver.received for m in r.value().get("messages", [])
        if m["type"] == "interactive"
    )  # fmt: skip
    assert tap["interactive"] == {"type": "button_reply",
                                  "button_reply": {"id": "yes", "title": "Yes"}}  # fmt: skip
    assert tap["context"]["id"] == next(e.id for e in state.outbox if e.type == "interactive")
    contacts = [c for r in receiver.received for c in r.value().get("contacts", [])]
    assert {c["profile"]["name"] for c in contacts} == {"Dora"}
    read = [s for r in receiver.received for s in r.value().get("statuses", [])
            if s["status"] == "read"]  # fmt: skip
    assert {s["id"] for s in read} == {entry.id for entry in state.outbox}
