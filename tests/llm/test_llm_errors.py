"""Each failure of a provider becomes the right ModelError, after the SDK's own retries."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from llm_builders import PROVIDERS, LiveModelServer, model_spec, user_request
from support import free_port
from threadline.kit.egress import EgressPolicy, calls_client
from threadline.kit.tls import shared_ssl_context
from threadline.llm import client
from threadline.llm.errors import (
    ModelError,
    ModelOverloaded,
    ModelRateLimited,
    ModelRejected,
    ModelTimeout,
    ModelUnavailable,
)
from threadline.llm.types import ModelSpec, ProviderKind
from threadline.model_server.cassettes import Cassette


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=shared_ssl_context()) as shared:
        yield shared


FAULTS = [
    ("rate_limited", ModelRateLimited),
    ("overloaded", ModelOverloaded),
    ("unavailable", ModelOverloaded),
    ("server_error", ModelUnavailable),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("kind", "error"), FAULTS)
async def test_fault_becomes_its_error(
    provider: ProviderKind,
    kind: str,
    error: type[ModelError],
    model_server: LiveModelServer,
    http: httpx.AsyncClient,
) -> None:
    await model_server.inject(kind, retry_after=0.05)  # type: ignore[arg-type]
    with pytest.raises(error) as raised:
        await client.complete(model_spec(model_server, provider), user_request("x"), http=http)
    assert type(raised.value) is error
    assert raised.value.retryable
    if kind in ("rate_limited", "overloaded"):
        assert raised.value.retry_after == pytest.approx(0.05)
    assert len(await model_server.received(provider)) == 1  # max_retries=0: one call


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_overload_status_per_protocol(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("overloaded")
    url = model_server.base_url(provider) + (
        "/chat/completions" if provider == "openai" else "/v1/messages"
    )
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    answer = await http.post(url, json=body, headers={"x-api-key": "k"})
    if provider == "anthropic":
        assert answer.status_code == 529
        assert answer.json()["type"] == "error"
        assert answer.json()["error"]["type"] == "overloaded_error"
    else:
        assert answer.status_code == 503
        assert answer.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_rate_limit_is_retried_then_answers(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("rate_limited", times=2, retry_after=0.05)
    spec = model_spec(model_server, provider, max_retries=2)
    started = time.monotonic()
    reply = await client.complete(spec, user_request("hello"), http=http)
    assert reply.text.startswith("Hello!")
    assert len(await model_server.received(provider)) == 3
    assert time.monotonic() - started >= 0.1  # it waited the hint twice


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_retries_run_out(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("overloaded", times=3, retry_after=0.01)
    spec = model_spec(model_server, provider, max_retries=1)
    with pytest.raises(ModelOverloaded):
        await client.complete(spec, user_request("hello"), http=http)
    assert len(await model_server.received(provider)) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_timeout(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("delay", seconds=1.5)
    spec = model_spec(model_server, provider, timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        await client.complete(spec, user_request("x"), http=http)
    assert time.monotonic() - started < 1.4


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_short_delay_still_answers(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("delay", seconds=0.2)
    started = time.monotonic()
    reply = await client.complete(model_spec(model_server, provider), user_request("x"), http=http)
    assert reply.text == "You said: x"
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_client_errors_are_rejected_not_retried(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    status_body = {
        "openai": {"error": {"message": "Incorrect API key", "type": "x"}},
        "anthropic": {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
    }
    entry = {
        "protocol": provider,
        "request": {"model": "bad-key-model"},
        "response": {"status": 401, "body": status_body[provider]},
    }
    model_server.state.cassette = Cassette.model_validate({"entries": [entry]}).entries
    spec = model_spec(model_server, provider, model="bad-key-model", max_retries=2)
    with pytest.raises(ModelRejected) as raised:
        await client.complete(spec, user_request("x"), http=http)
    assert not raised.value.retryable
    assert "401" in str(raised.value)
    assert len(await model_server.received(provider)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unreachable_provider(provider: ProviderKind, http: httpx.AsyncClient) -> None:
    spec = ModelSpec(
        name="gone",
        provider=provider,
        model="m",
        api_key="k",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        max_retries=0,
    )
    with pytest.raises(ModelUnavailable):
        await client.complete(spec, user_request("x"), http=http)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_egress_refusal_is_final(
    provider: ProviderKind, model_server: LiveModelServer
) -> None:
    calls = calls_client(EgressPolicy.build(""), timeout=5, limits=httpx.Limits())
    try:
        with pytest.raises(ModelRejected, match="egress refused"):
            spec = model_spec(model_server, provider, max_retries=2)
            await client.complete(spec, user_request("x"), http=calls)
    finally:
        await calls.aclose()
    assert await model_server.received(provider) == []


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_metrics_and_log_line(
    provider: ProviderKind,
    model_server: LiveModelServer,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = {"provider": provider, "direction": "output"}
    calls = {"provider": provider, "outcome": "ok"}
    failed = {"provider": provider, "outcome": "ModelUnavailable"}
    before = [
        _sample("threadline_model_tokens_total", tokens),
        _sample("threadline_model_call_duration_seconds_count", calls),
        _sample("threadline_model_call_duration_seconds_count", failed),
    ]
    spec = model_spec(model_server, provider)
    with caplog.at_level(logging.INFO, logger="threadline.llm"):
        reply = await client.complete(spec, user_request("count me"), http=http)
        await model_server.inject("server_error")
        with pytest.raises(ModelUnavailable):
            await client.complete(spec, user_request("x"), http=http)
    after = [
        _sample("threadline_model_tokens_total", tokens),
        _sample("threadline_model_call_duration_seconds_count", calls),
        _sample("threadline_model_call_duration_seconds_count", failed),
    ]
    assert reply.usage.output_tokens > 0
    assert after[0] - before[0] == reply.usage.output_tokens
    assert (after[1] - before[1], after[2] - before[2]) == (1, 1)
    ok, failure = (r for r in caplog.records if r.name == "threadline.llm")
    assert (ok.outcome, failure.outcome) == ("ok", "ModelUnavailable")  # type: ignore[attr-defined]
    assert ok.output_tokens == reply.usage.output_tokens  # type: ignore[attr-defined]
    assert all(spec.api_key not in r.getMessage() + str(vars(r)) for r in caplog.records)
