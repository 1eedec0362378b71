"""The wire formats' own answers: error bodies, validation, auth, the mount and the CLI."""

from __future__ import annotations

from typing import Any

import httpx
from typer.testing import CliRunner

from llm_builders import LiveModelServer
from threadline.app import create_app
from threadline.cli.main import app as cli
from threadline.config import MODEL_SERVER_MOUNT, Settings

KEY = {"authorization": "Bearer sk-x", "x-api-key": "sk-x"}


async def _post(
    server: LiveModelServer, path: str, body: Any, headers: Any = KEY
) -> httpx.Response:
    return await server.http.post(server.url + path, json=body, headers=headers)


async def test_openai_error_bodies(model_server: LiveModelServer) -> None:
    path = "/openai/v1/chat/completions"
    missing = await _post(model_server, path, {"model": "m"})
    no_key = await _post(model_server, path, {"model": "m", "messages": []}, headers={})
    streamed = await _post(
        model_server, path, {"model": "m", "stream": True, "messages": [{"role": "user"}]}
    )
    assert [missing.status_code, no_key.status_code, streamed.status_code] == [400, 401, 400]
    error = missing.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and "messages" in error["message"]
    assert no_key.json()["error"]["code"] == "invalid_api_key"
    await model_server.inject("rate_limited", retry_after=2)
    limited = await _post(model_server, path, {"model": "m", "messages": [{"role": "user"}]})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2" and limited.headers["retry-after-ms"] == "2000"
    assert limited.json()["error"]["type"] == "rate_limit_error"


async def test_anthropic_error_bodies(model_server: LiveModelServer) -> None:
    path = "/anthropic/v1/messages"
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    no_max = await _post(model_server, path, body)
    assert no_max.status_code == 400
    assert no_max.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    no_key = await _post(model_server, path, {**body, "max_tokens": 5}, headers={})
    assert no_key.json()["error"]["type"] == "authentication_error"
    await model_server.inject("server_error", protocol="anthropic")
    failed = await _post(model_server, path, {**body, "max_tokens": 5})
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    not_json = await model_server.http.post(model_server.url + path, content=b"{", headers=KEY)
    assert not_json.status_code == 400 and not_json.json()["type"] == "error"


async def test_anthropic_transcript_is_read_back(model_server: LiveModelServer) -> None:
    body = {
        "model": "m",
        "max_tokens": 50,
        "system": [{"type": "text", "text": "Sys"}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"c": "x"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "rainy"},
                ],
            },
        ],
    }
    answer = await _post(model_server, "/anthropic/v1/messages", body)
    assert answer.status_code == 200
    message = answer.json()
    assert message["content"] == [{"type": "text", "text": "Done. The tool answered: rainy"}]
    assert message["stop_reason"] == "end_turn" and message["type"] == "message"
    assert message["usage"]["input_tokens"] > 0


async def test_mounted_in_the_api(settings: Settings, client: httpx.AsyncClient) -> None:
    assert settings.model_server_enabled
    answer = await client.post(
        MODEL_SERVER_MOUNT + "/openai/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hello"}]},
        headers=KEY,
    )
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"].startswith("Hello!")
    docs = await client.get(MODEL_SERVER_MOUNT + "/_control/docs")
    assert docs.status_code == 200


async def test_not_mounted_when_disabled(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"model_server_enabled": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.post(MODEL_SERVER_MOUNT + "/openai/v1/chat/completions", json={})
    assert answer.status_code == 404


def test_cli_command_is_listed() -> None:
    result = CliRunner().invoke(cli, ["model-server", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--cassette" in result.output
