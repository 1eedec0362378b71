"""GET /whatsapp_messages/{id}/media: inbound media proxied from a Graph API over real HTTP.

The Graph API here is a small local server (the sandbox does not serve media yet): it
checks the config's token on both the lookup and the download, like Meta.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from builders import TestProject, add_inbound_message, create_project, open_conversation
from support import free_port
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig
from threadline.whatsapp import limits

TOKEN = "graph-token"
PNG = b"\x89PNG\r\n\x1a\nfake-image-bytes"


def _graph_app(base: list[str]) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def lookup(request: Request) -> Response:
        media_id = request.path_params["media_id"]
        if not authorized(request):
            return JSONResponse({"error": {"message": "bad token", "code": 190}}, 401)
        if media_id == "m-gone":
            return JSONResponse({"error": {"message": "Unsupported get", "code": 100}}, 400)
        size = limits.MEDIA_DOWNLOAD_MAX_BYTES + 1 if media_id == "m-big" else len(PNG)
        url = f"{base[0]}/files/{media_id}"
        return JSONResponse(
            {"url": url, "mime_type": "image/png", "file_size": size, "id": media_id}
        )

    async def download(request: Request) -> Response:
        if not authorized(request):
            return Response(status_code=401)
        return Response(PNG, media_type="image/png")

    return Starlette(
        routes=[
            Route("/v23.0/{media_id}", lookup),
            Route("/files/{media_id}", download),
        ]
    )


@pytest.fixture
async def graph_url() -> AsyncIterator[str]:
    base: list[str] = []
    port = free_port()
    base.append(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(_graph_app(base), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield base[0]
    server.should_exit = True
    await task


async def _production_config(resources: Resources, project: TestProject, graph_url: str) -> str:
    now = utcnow()
    config = WhatsappConfig(
        id=uuid.uuid4(),
        project_id=uuid.UUID(project.id),
        name="Real",
        kind="production",
        phone_number_id=f"pn-{uuid.uuid4().hex[:8]}",
        display_phone_number="+15550009999",
        waba_id="waba-1",
        base_url=graph_url,
        api_version="v23.0",
        access_token_encrypted=resources.cipher.encrypt(TOKEN),
        is_default=False,
        created_at=now,
        updated_at=now,
    )
    async with resources.db.transaction() as session:
        session.add(config)
    return str(config.id)


def _image(media_id: str) -> dict[str, Any]:
    return {"type": "image", "image": {"id": media_id, "mime_type": "image/png"}}


async def test_inbound_media_is_proxied_with_the_configs_token(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, graph_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    config_id = await _production_config(resources, project, graph_url)
    conversation = await open_conversation(resources, project, config_id=config_id)
    ok = await add_inbound_message(resources, project, conversation, _image("m-ok"))
    gone = await add_inbound_message(resources, project, conversation, _image("m-gone"))
    big = await add_inbound_message(resources, project, conversation, _image("m-big"))
    text = await add_inbound_message(
        resources, project, conversation, {"type": "text", "text": {"body": "hi"}}
    )

    def url(message_id: int) -> str:
        return f"/api/v1/whatsapp_messages/{uuid.UUID(int=message_id)}/media"

    response = await client.get(url(ok), headers=project.headers)
    assert response.status_code == 200, response.text
    assert response.content == PNG and response.headers["content-type"] == "image/png"

    expected = {gone: 404, big: 502, text: 404}
    for message_id, status in expected.items():
        response = await client.get(url(message_id), headers=project.headers)
        assert response.status_code == status, response.text
        assert response.json()["message"], response.text
    assert (await client.get(url(ok), headers=other.headers)).status_code == 404
    missing = await client.get("/api/v1/whatsapp_messages/nope/media", headers=project.headers)
    assert missing.status_code == 404
