"""The sandbox mounted by ``create_app``: signed webhooks to this server, from its lifespan."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sandbox_receiver import Receiver

from support import SECRET_KEY, free_port
from threadline.app import WHATSAPP_WEBHOOK_PATH, create_app
from threadline.config import SANDBOX_IDENTITY, Settings


@pytest.fixture
async def server_url(tmp_path: Path) -> AsyncIterator[str]:
    """A real Threadline server whose settings know the port it listens on."""
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}",
        data_dir=tmp_path,
        secret_key=SECRET_KEY,
        embedded_worker=False,
        port=port,
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def _first_attempt(client: httpx.AsyncClient) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            log = (await client.get("/sandbox/_sandbox/webhooks")).json()["data"]
            if log and log[0]["attempts"]:
                delivery: dict[str, Any] = log[0]
                return delivery
            await asyncio.sleep(0.02)


async def test_the_mounted_sandbox_webhooks_this_server(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as client:
        config = (await client.get("/sandbox/_sandbox/config")).json()
        assert config["webhook_url"] == server_url + WHATSAPP_WEBHOOK_PATH
        body = {"from": "15551230001", "type": "text", "text": {"body": "hi"}}
        assert (await client.post("/sandbox/_sandbox/inbound", json=body)).status_code == 200

        delivery = await _first_attempt(client)

    assert delivery["url"] == server_url + WHATSAPP_WEBHOOK_PATH
    assert delivery["attempts"][0]["status_code"] is not None  # it reached this server
    # The sandbox serialises compactly with escaped unicode, so these are the bytes it sent.
    raw = json.dumps(delivery["payload"], ensure_ascii=True, separators=(",", ":")).encode()
    digest = hmac.new(SANDBOX_IDENTITY.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    assert delivery["signature"] == f"sha256={digest}"


async def test_mounted_media_urls_include_the_mount(server_url: str) -> None:
    headers = {"Authorization": f"Bearer {SANDBOX_IDENTITY.access_token}"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers) as client:
        body = {"from": "15551230001", "type": "image"}
        message = (await client.post("/sandbox/_sandbox/inbound", json=body)).json()["message"]
        lookup = (await client.get(f"/sandbox/v23.0/{message['image']['id']}")).json()

        assert lookup["url"].startswith(server_url + "/sandbox/media-files/")
        assert (await client.get(lookup["url"])).status_code == 200


async def test_the_standalone_cli_takes_a_webhook_url_and_secret(receiver: Receiver) -> None:
    port = free_port()
    command = [str(Path(sys.executable).with_name("threadline")), "sandbox", "--port", str(port)]
    command += ["--webhook-url", receiver.url, "--app-secret", "cli-secret"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _until_up(client)
            body = {"from": "15551230001", "type": "text", "text": {"body": "hi"}}
            await client.post("/_sandbox/inbound", json=body)
            (received,) = await receiver.wait_for(1, timeout=10)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=15)

    digest = hmac.new(b"cli-secret", received.body, hashlib.sha256).hexdigest()
    assert received.headers["x-hub-signature-256"] == f"sha256={digest}"


async def _until_up(client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(15):
        while True:
            try:
                await client.get("/_sandbox/health")
                return
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
