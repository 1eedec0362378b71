"""Recording a cassette from an upstream provider (here: the session's model server)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from llm_builders import LiveModelServer, model_spec, text_reply, user_request
from support import free_port
from threadline.kit.tls import shared_ssl_context
from threadline.llm import client
from threadline.llm.errors import ModelRateLimited
from threadline.llm.types import ProviderKind
from threadline.model_server.app import create_model_server_app
from threadline.model_server.cassettes import load_cassette
from threadline.model_server.recorder import Recorder
from threadline.model_server.scripts import Script


@contextlib.asynccontextmanager
async def _serve(app: object) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=shared_ssl_context()) as shared:
        yield shared


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_record_then_replay(
    provider: ProviderKind, tmp_path: Path, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.load_script("up", Script(replies=[text_reply("recorded answer")]))
    path = tmp_path / "cassette.yaml"
    recorder = Recorder(path=path, upstreams={provider: model_server.base_url(provider)})
    recording = create_model_server_app(recorder=recorder)
    async with _serve(recording) as url:
        spec = model_spec(model_server, provider, model="up")
        spec = dataclasses.replace(spec, base_url=_base(url, provider))
        first = await client.complete(spec, user_request("question"), http=http)
        # The upstream's only fixed reply is used up: the same call replays the recording.
        again = await client.complete(spec, user_request("question"), http=http)
        await model_server.inject("rate_limited")
        with pytest.raises(ModelRateLimited):  # passed through, not recorded
            await client.complete(spec, user_request("other"), http=http)
    assert first.text == again.text == "recorded answer"
    assert len(await model_server.received(provider)) == 2
    cassette = load_cassette(path)
    (entry,) = cassette.entries
    assert entry.request["model"] == "up" and entry.response.status == 200
    assert "sk-local-test" not in path.read_text()  # the key is never written
    replay = create_model_server_app(cassette)
    async with _serve(replay) as url:
        spec = dataclasses.replace(spec, base_url=_base(url, provider))
        replayed = await client.complete(spec, user_request("question"), http=http)
    assert replayed.text == "recorded answer"


def _base(url: str, provider: ProviderKind) -> str:
    return url + ("/openai/v1" if provider == "openai" else "/anthropic")
