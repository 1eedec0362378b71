"""Both providers over real HTTP, through the official SDKs, against the local model server."""

from __future__ import annotations

import httpx
import pytest

from llm_builders import (
    PROVIDERS,
    LiveModelServer,
    after_tool,
    model_spec,
    rule_script,
    text_reply,
    tool_reply,
    user_request,
    weather_tool,
)
from threadline.kit.tls import shared_ssl_context
from threadline.llm import client
from threadline.llm.types import ModelSettings, ProviderKind


@pytest.fixture
async def http() -> httpx.AsyncClient:
    async with httpx.AsyncClient(verify=shared_ssl_context()) as shared:
        yield shared


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_text_reply_and_usage(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.load_script(
        "test-model", rule_script(default=text_reply("Hi {last_user_message}!", output_tokens=7))
    )
    spec = model_spec(model_server, provider)
    reply = await client.complete(spec, user_request("Ada"), http=http)
    assert reply.text == "Hi Ada!"
    assert reply.tool_calls == ()
    assert reply.stop_reason == "end"
    assert reply.model == "test-model"
    assert reply.usage.output_tokens == 7
    assert reply.usage.input_tokens > 0
    assert reply.request_id and reply.request_id.startswith("req_")  # the vendor's header
    (seen,) = await model_server.received(provider)
    assert seen["model"] == "test-model"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tool_call_then_tool_result(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    script = rule_script(
        ("weather", tool_reply("get_weather", {"city": "Lima"})),
        after_tool=text_reply("It is {last_tool_result}."),
    )
    await model_server.load_script("test-model", script)
    spec = model_spec(model_server, provider)
    request = user_request("What is the weather in Lima?", tools=(weather_tool(),))
    first = await client.complete(spec, request, http=http)
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Lima"})
    assert call.arguments_error is None
    assert first.stop_reason == "tool_calls"
    follow_up = after_tool(request, call, "sunny")
    second = await client.complete(spec, follow_up, http=http)
    assert second.text == "It is sunny."
    # The server parsed back the call and its result from the SDK's wire format.
    last = (await model_server.received(provider))[-1]["body"]
    assert "sunny" in str(last["messages"]) and call.id in str(last["messages"])


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tools_and_settings_reach_the_wire(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    settings = ModelSettings(temperature=0.2, max_tokens=300, reasoning_effort="low")
    spec = model_spec(model_server, provider, settings=settings)
    request = user_request("hi", tools=(weather_tool(),), tool_choice="required")
    reply = await client.complete(spec, request, http=http)
    assert [c.name for c in reply.tool_calls] == ["get_weather"]  # the built-in obeys required
    body = (await model_server.received(provider))[-1]["body"]
    assert body["temperature"] == 0.2
    if provider == "openai":
        assert body["messages"][0] == {"role": "system", "content": request.system}
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert (body["tool_choice"], body["max_completion_tokens"]) == ("required", 300)
        assert body["reasoning_effort"] == "low"
    else:
        assert body["system"] == request.system
        assert body["tools"][0]["input_schema"] == weather_tool().parameters
        assert (body["tool_choice"], body["max_tokens"]) == ({"type": "any"}, 300)
        assert body["output_config"] == {"effort": "low"}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_malformed_arguments_become_arguments_error(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("malformed_tool_call")
    spec = model_spec(model_server, provider)
    request = user_request("weather?", tools=(weather_tool(),))
    reply = await client.complete(spec, request, http=http)
    (call,) = reply.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {}
    assert call.arguments_error
    assert call.raw_arguments.startswith('{"query"')


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_empty_answer(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("empty")
    reply = await client.complete(model_spec(model_server, provider), user_request("x"), http=http)
    assert (reply.text, reply.tool_calls) == ("", ())
