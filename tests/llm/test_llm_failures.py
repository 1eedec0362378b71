"""The status-to-error mapping shared by both providers, and malformed answers."""

from __future__ import annotations

import dataclasses
import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from llm_builders import LiveModelServer, model_spec, user_request
from threadline.kit.resources import Resources
from threadline.kit.tls import shared_ssl_context
from threadline.llm import client, failures
from threadline.llm.errors import (
    ModelAnswerMalformed,
    ModelError,
    ModelOverloaded,
    ModelRateLimited,
    ModelRejected,
    ModelTimeout,
    ModelUnavailable,
)
from threadline.llm.types import ProviderKind
from threadline.model_server.cassettes import CassetteEntry


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ModelRejected),
        (401, ModelRejected),
        (404, ModelRejected),
        (408, ModelTimeout),
        (409, ModelUnavailable),
        (422, ModelRejected),
        (429, ModelRateLimited),
        (500, ModelUnavailable),
        (502, ModelUnavailable),
        (503, ModelOverloaded),
        (529, ModelOverloaded),
    ],
)
def test_status_mapping(status: int, error: type[ModelError]) -> None:
    mapped = failures.from_status(status, {}, "nope")
    assert type(mapped) is error
    assert str(status) in str(mapped)


def test_retry_after_forms() -> None:
    assert failures.retry_after({"Retry-After": "3"}) == 3
    assert failures.retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert failures.retry_after({"retry-after": later}) == pytest.approx(30, abs=2)
    assert failures.retry_after({"retry-after": "soon"}) is None
    assert failures.retry_after({}) is None
    limited = failures.from_status(429, {"retry-after": "7"}, "slow down")
    assert limited.retry_after == 7


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=shared_ssl_context()) as shared:
        yield shared


MALFORMED: dict[ProviderKind, dict[str, Any]] = {
    "openai": {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [],
    },
    "anthropic": {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "mystery_block", "payload": 1}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_unreadable_answer_is_malformed(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    entry = {
        "protocol": provider,
        "request": {"model": "odd"},
        "response": {"body": MALFORMED[provider]},
    }
    model_server.state.cassette = [CassetteEntry.model_validate(entry)]
    with pytest.raises(ModelAnswerMalformed):
        spec = model_spec(model_server, provider, model="odd")
        await client.complete(spec, user_request("x"), http=http)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_vendor_model_without_key_is_rejected_before_any_call(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    spec = dataclasses.replace(model_spec(model_server, provider), api_key="", base_url=None)
    with pytest.raises(ModelRejected, match="no API key"):
        await client.complete(spec, user_request("x"), http=http)
    assert await model_server.received() == []


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_keyless_server_of_ones_own_is_called_with_a_placeholder_key(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    spec = dataclasses.replace(model_spec(model_server, provider), api_key="")
    reply = await client.complete(spec, user_request("hello"), http=http)
    assert reply.text
    assert len(await model_server.received()) == 1


async def test_http_for_picks_the_egress_client_for_user_urls(
    resources: Resources, model_server: LiveModelServer
) -> None:
    local = model_spec(model_server, "openai")
    assert local.base_url == resources.settings.local_model_url("openai")
    assert client.http_for(local, resources) is resources.http
    vendor = dataclasses.replace(local, base_url=None)
    assert client.http_for(vendor, resources) is resources.http
    user_given = dataclasses.replace(local, base_url="https://llm.example.test/v1")
    assert client.http_for(user_given, resources) is resources.calls
