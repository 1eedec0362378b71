"""Scripts, rules, latency, cassettes and the control plane, over real HTTP and the SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from llm_builders import (
    PROVIDERS,
    LiveModelServer,
    after_tool,
    model_spec,
    text_reply,
    tool_reply,
    user_request,
    weather_tool,
)
from threadline.kit.tls import shared_ssl_context
from threadline.llm import client
from threadline.llm.types import ProviderKind
from threadline.model_server.cassettes import load_cassette
from threadline.model_server.scripts import Rule, Script


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=shared_ssl_context()) as shared:
        yield shared


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_fixed_replies_then_rules_then_default(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    script = Script(
        replies=[text_reply("first"), text_reply("second")],
        rules=[
            Rule(regex=r"order\s+#?\d+", reply=text_reply("Your order is on its way.")),
            Rule(contains="WEATHER", reply=tool_reply("get_weather", {"city": "Oslo"})),
        ],
        default=text_reply("default for {model}"),
    )
    await model_server.load_script("scripted", script)
    spec = model_spec(model_server, provider, model="scripted")
    asked = [
        "anything",
        "anything",
        "where is order #42?",
        "the weather please",
        "something else",
    ]
    tools = (weather_tool(),)
    replies = [await client.complete(spec, user_request(t, tools=tools), http=http) for t in asked]
    assert [r.text for r in replies] == [
        "first",
        "second",
        "Your order is on its way.",
        "",
        "default for scripted",
    ]
    assert replies[3].tool_calls[0].arguments == {"city": "Oslo"}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_scripts_are_per_model_and_reset(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.load_script("a", Script(default=text_reply("I am a")))
    reply_a = await client.complete(
        model_spec(model_server, provider, model="a"), user_request("x"), http=http
    )
    reply_b = await client.complete(
        model_spec(model_server, provider, model="b"), user_request("x"), http=http
    )
    assert (reply_a.text, reply_b.text) == ("I am a", "You said: x")
    listed = (await model_server.http.get(model_server.url + "/_control/scripts")).json()
    assert list(listed["scripts"]) == ["a"]
    assert (await model_server.http.post(model_server.url + "/_control/reset")).status_code == 200
    assert await model_server.received() == []
    again = await client.complete(
        model_spec(model_server, provider, model="a"), user_request("x"), http=http
    )
    assert again.text == "You said: x"


async def test_builtin_answers_suit_a_sample_agent(
    model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    spec = model_spec(model_server, "openai", model="any-model")
    hello = await client.complete(spec, user_request("Hi there"), http=http)
    assert hello.text.startswith("Hello!")
    echo = await client.complete(spec, user_request("I need a refund"), http=http)
    assert echo.text == "You said: I need a refund"
    # A tool the user names is called, its result reported: an agent's loop ends.
    asked = user_request("What's the weather in Lima?", tools=(weather_tool(),))
    (call,) = (await client.complete(spec, asked, http=http)).tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "What's the weather in Lima?"})
    done = await client.complete(spec, after_tool(asked, call, "22 C, sunny"), http=http)
    assert (done.text, done.tool_calls) == ("Done. The tool answered: 22 C, sunny", ())
    unnamed = user_request("Tell me a joke", tools=(weather_tool(),))
    assert (await client.complete(spec, unnamed, http=http)).tool_calls == ()
    refused = user_request("weather?", tools=(weather_tool(),), tool_choice="none")
    assert (await client.complete(spec, refused, http=http)).tool_calls == ()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_latency(
    provider: ProviderKind, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    answer = await model_server.http.post(
        model_server.url + "/_control/latency", json={"seconds": 0.25}
    )
    assert answer.json() == {"seconds": 0.25}
    started = time.monotonic()
    await client.complete(model_spec(model_server, provider), user_request("x"), http=http)
    assert time.monotonic() - started >= 0.25


async def test_faults_hit_only_their_model_and_count_down(
    model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    await model_server.inject("empty", model="target", times=2)
    other = model_spec(model_server, "openai", model="other")
    target = model_spec(model_server, "anthropic", model="target")
    assert (await client.complete(other, user_request("x"), http=http)).text == "You said: x"
    faults = (await model_server.http.get(model_server.url + "/_control/faults")).json()
    assert [f["times"] for f in faults["faults"]] == [2]
    texts = [(await client.complete(target, user_request("x"), http=http)).text for _ in range(3)]
    assert texts == ["", "", "You said: x"]


async def test_control_plane_refuses_bad_bodies(model_server: LiveModelServer) -> None:
    url = model_server.url + "/_control"
    bad_fault = await model_server.http.post(url + "/faults", json={"kind": "meteor"})
    bad_rule = await model_server.http.post(
        url + "/scripts/m", json={"rules": [{"regex": "(", "reply": {"text": "x"}}]}
    )
    both = await model_server.http.post(
        url + "/scripts/m", json={"rules": [{"reply": {"text": "x"}}]}
    )
    assert [bad_fault.status_code, bad_rule.status_code, both.status_code] == [422, 422, 422]
    assert model_server.state.faults == [] and model_server.state.scripts == {}


def _cassette(tmp_path: Path, suffix: str) -> Path:
    entries = [
        {
            "protocol": "openai",
            "request": {
                "model": "gpt-recorded",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of Peru?"},
                ],
            },
            "response": {
                "status": 200,
                "headers": {"x-request-id": "req_recorded", "content-length": "999"},
                "body": {
                    "id": "chatcmpl-recorded",
                    "object": "chat.completion",
                    "created": 1764800000,
                    "model": "gpt-recorded-2026-01-01",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Lima."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 21, "completion_tokens": 2, "total_tokens": 23},
                },
            },
        },
        {
            "protocol": "anthropic",
            "request": {"model": "claude-recorded", "system": "Be brief."},
            "response": {
                "body": {
                    "id": "msg_recorded",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-recorded-1",
                    "content": [{"type": "text", "text": "Lima."}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 19, "output_tokens": 4},
                }
            },
        },
    ]
    path = tmp_path / f"cassette{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"entries": entries}))
    else:
        import yaml

        path.write_text(yaml.safe_dump({"entries": entries}))
    return path


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
async def test_cassette_replay(
    suffix: str, tmp_path: Path, model_server: LiveModelServer, http: httpx.AsyncClient
) -> None:
    cassette = load_cassette(_cassette(tmp_path, suffix))
    loaded = await model_server.http.post(
        model_server.url + "/_control/cassettes", json=cassette.model_dump()
    )
    assert loaded.json() == {"entries": 2}
    request = user_request("Capital of Peru?", system="Be brief.")
    for _ in range(2):  # deterministic: the same answer every time
        openai_reply = await client.complete(
            model_spec(model_server, "openai", model="gpt-recorded"), request, http=http
        )
        assert (openai_reply.text, openai_reply.model) == ("Lima.", "gpt-recorded-2026-01-01")
        assert (openai_reply.usage.input_tokens, openai_reply.usage.output_tokens) == (21, 2)
        assert openai_reply.request_id == "req_recorded"
    anthropic_reply = await client.complete(
        model_spec(model_server, "anthropic", model="claude-recorded"), request, http=http
    )
    assert (anthropic_reply.text, anthropic_reply.usage.input_tokens) == ("Lima.", 19)
    # Not the recorded request: the script (here the built-in echo) answers.
    other = await client.complete(
        model_spec(model_server, "openai", model="gpt-recorded"), user_request("Peru?"), http=http
    )
    assert other.text == "You said: Peru?"
