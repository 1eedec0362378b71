"""Webhook request tools against a real local HTTP server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from threadline.agent_tools.result import ToolRetryable
from threadline.agent_tools.webhook import call_webhook
from tool_receiver import Receiver, Reply


async def _call(
    http: httpx.AsyncClient,
    config: dict[str, Any],
    arguments: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    key: str = "exec-1:3:call_a",
) -> Any:
    return await call_webhook(
        config, arguments or {}, variables or {}, http=http, idempotency_key=key
    )


async def test_placeholders_fill_url_headers_and_body(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    config = {
        "url": receiver.url("/orders/#{order_id}?lang=#{lang}"),
        "http_method": "POST",
        "headers": json.dumps({"Authorization": "Bearer #{token}", "X-Phone": "#{phone}"}),
        "body": json.dumps({"order": "#{order_id}", "note": "for #{name}", "qty": "#{qty}"}),
    }
    arguments = {"order_id": "a/b?c", "lang": "en&x=1", "name": "Ana", "qty": 3}
    result = await _call(calls, config, arguments, {"token": "t0k", "phone": "+15550001"})
    assert not result.is_error, result.content
    assert result.status_code == 200
    assert json.loads(result.content) == {"status_code": 200, "content": {"ok": True}}
    (request,) = receiver.requests
    assert request.raw_path == "/orders/a%2Fb%3Fc"  # one path segment on the wire
    assert request.query == "lang=en%26x%3D1"
    assert request.headers["authorization"] == "Bearer t0k"
    assert request.headers["x-phone"] == "+15550001"
    assert request.headers["idempotency-key"] == "exec-1:3:call_a"
    assert request.json() == {"order": "a/b?c", "note": "for Ana", "qty": 3}


async def test_arguments_win_over_variables_and_body_schema_shapes_the_body(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "n": {}}}
    config = {
        "url": receiver.url("/t/#{who}"),
        "http_method": "POST",
        "body_schema": json.dumps(schema),
        "body": '{"ignored": true}',
    }
    await _call(calls, config, {"who": "model", "title": "Broken", "extra": 1}, {"who": "var"})
    (request,) = receiver.requests
    assert request.path == "/t/model"
    assert request.json() == {"title": "Broken"}


async def test_jmespath_selects_from_the_answer(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    receiver.reply("/o", Reply(body={"data": {"status": "shipped", "items": [1, 2]}}))
    config = {"url": receiver.url("/o"), "jmespath_query": "data.status"}
    assert (await _call(calls, config)).content == "shipped"
    config["jmespath_query"] = "status_code"  # not in the content: the whole result
    assert (await _call(calls, config)).content == "200"
    config["jmespath_query"] = "data.items"
    assert json.loads((await _call(calls, config)).content) == [1, 2]


async def test_a_mock_response_makes_no_request(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    config = {
        "url": receiver.url("/never"),
        "mock_response_enabled": True,
        "mock_response": json.dumps({"data": {"eta": "2 days"}}),
        "jmespath_query": "data.eta",
    }
    result = await _call(calls, config)
    assert (result.content, result.is_error, result.details["mocked"]) == ("2 days", False, True)
    assert receiver.requests == []


async def test_a_4xx_is_an_error_the_model_reads(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    receiver.reply("/o", Reply(404, {"error": "order 77 not found"}))
    result = await _call(calls, {"url": receiver.url("/o"), "http_method": "POST"})
    assert result.is_error and result.status_code == 404
    assert "HTTP 404" in result.content and "order 77 not found" in result.content


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_5xx_or_429_is_retryable_when_the_call_is_safe(
    receiver: Receiver, calls: httpx.AsyncClient, status: int
) -> None:
    receiver.reply("/o", Reply(status, {"error": "busy"}, headers={"Retry-After": "7"}))
    with pytest.raises(ToolRetryable) as raised:
        await _call(calls, {"url": receiver.url("/o"), "http_method": "POST"})
    assert raised.value.retry_after == 7.0
    assert raised.value.result.is_error and f"HTTP {status}" in raised.value.result.content


async def test_a_5xx_of_an_unkeyed_post_is_not_retried(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    receiver.reply("/o", Reply(502, {"error": "bad gateway"}))
    result = await _call(calls, {"url": receiver.url("/o"), "http_method": "POST"}, key="")
    assert result.is_error and result.status_code == 502
    assert "may have acted" in result.content
    assert "idempotency-key" not in receiver.requests[0].headers


async def test_a_timeout_of_a_get_is_retryable_of_an_unkeyed_post_is_an_error(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    receiver.reply("/slow", Reply(delay=1.0))
    config: dict[str, Any] = {"url": receiver.url("/slow"), "timeout_seconds": 0.2}
    with pytest.raises(ToolRetryable, match=r"no answer within 0\.2 s"):
        await _call(calls, config, key="")
    result = await _call(calls, {**config, "http_method": "POST"}, key="")
    assert result.is_error and result.details["error"] == "timeout"
    assert "may or may not" in result.content


async def test_a_refused_connection_is_retryable_even_for_a_post(
    calls: httpx.AsyncClient,
) -> None:
    from support import free_port

    config = {"url": f"http://127.0.0.1:{free_port()}/x", "http_method": "POST"}
    with pytest.raises(ToolRetryable, match="could not connect"):
        await _call(calls, config, key="")


async def test_egress_refusal_is_an_error_and_sends_nothing(
    receiver: Receiver, strict_calls: httpx.AsyncClient
) -> None:
    result = await _call(strict_calls, {"url": receiver.url("/o")})
    assert result.is_error and result.details["error"] == "egress"
    assert "loopback" in result.content
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("config", "arguments", "reason"),
    [
        ({"url": "http://#{host}/x"}, {"host": "127.0.0.1"}, "host written out"),
        ({"url": "{base}/a/#{p}"}, {"p": ".."}, "host written out"),
        ({"url": "URL/a/#{p}/b"}, {"p": ".."}, "'.' or '..'"),
        ({"url": "URL/h", "headers": {"X": "#{v}"}}, {"v": "a\r\nX-Evil: 1"}, "line breaks"),
        ({"url": "URL/h", "headers": {"X": "#{v}"}}, {"v": "José"}, "not ASCII"),
        ({"url": "URL/h", "http_method": "TRACE"}, {}, "not one of"),
        ({"url": "URL/h", "http_method": "#{m}"}, {"m": "CONNECT"}, "not one of"),
        ({"url": "URL/h", "body": '{"a": #{v}}'}, {"v": 1}, "not valid JSON"),
    ],
)
async def test_unsafe_values_are_refused_before_sending(
    receiver: Receiver,
    calls: httpx.AsyncClient,
    config: dict[str, Any],
    arguments: dict[str, Any],
    reason: str,
) -> None:
    config = {**config, "url": config["url"].replace("URL", receiver.base_url)}
    result = await _call(calls, config, arguments)
    assert result.is_error and result.details["error"] == "invalid"
    assert reason in result.content
    assert receiver.requests == []


async def test_a_text_answer_and_a_large_answer(
    receiver: Receiver, calls: httpx.AsyncClient
) -> None:
    receiver.reply("/txt", Reply(body="plain words", raw=True))
    result = await _call(calls, {"url": receiver.url("/txt")})
    assert json.loads(result.content)["content"] == {"text": "plain words"}
    receiver.reply("/big", Reply(body="x" * 5000, raw=True))
    result = await _call(calls, {"url": receiver.url("/big"), "max_response_bytes": 1000})
    assert result.is_error and result.details["error"] == "too_large"
    capped = await call_webhook(
        {"url": receiver.url("/big")}, {}, {}, http=calls, idempotency_key="", max_response_bytes=10
    )
    assert capped.is_error and "larger than 10 bytes" in capped.content


def test_the_arguments_schema_follows_kapsos_rule() -> None:
    from threadline.agent_tools.webhook import webhook_parameters

    config = {
        "url": "https://api.x.com/orders/#{order_id}?c=#{contact_phone}",
        "headers": '{"X-Shop": "#{shop}"}',
        "body": '{"note": "#{note}"}',
    }
    schema = webhook_parameters(config, known={"contact_phone"})
    assert schema["properties"] == {n: {"type": "string"} for n in ("order_id", "shop", "note")}
    assert schema["required"] == ["order_id", "shop", "note"]
    body_schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "qty": {"type": "integer"}},
        "required": ["title"],
    }
    typed = webhook_parameters({**config, "body_schema": json.dumps(body_schema)})
    assert typed["properties"]["qty"] == {"type": "integer"} and "note" not in typed["properties"]
    assert typed["required"] == ["order_id", "contact_phone", "shop", "title"]
