"""``threadline model-server`` serves the model APIs alone, replaying a cassette file."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from support import free_port
from threadline.llm import client
from threadline.llm.types import ChatMessage, ModelRequest, ModelSpec

RECORDED = {
    "protocol": "anthropic",
    "request": {"model": "claude-recorded"},
    "response": {
        "headers": {"request-id": "req_from_file"},
        "body": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-recorded",
            "content": [{"type": "text", "text": "from the cassette"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 3},
        },
    },
}


async def _wait_for(url: str, http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_command_serves_and_replays(tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.json"
    cassette.write_text(json.dumps({"entries": [RECORDED]}))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "threadline.cli.main", "model-server", "--port", str(port)),
        *("--cassette", str(cassette)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            await _wait_for(base + "/_control/health", http)
            spec = ModelSpec(
                name="c",
                provider="anthropic",
                model="claude-recorded",
                api_key="k",
                base_url=base + "/anthropic",
            )
            request = ModelRequest(system="", messages=(ChatMessage(role="user", content="?"),))
            reply = await client.complete(spec, request, http=http)
            # The control plane's reset keeps the cassette given at start.
            await http.post(base + "/_control/reset")
            again = await client.complete(spec, request, http=http)
    finally:
        process.terminate()
        output, _ = await asyncio.wait_for(process.communicate(), 15)
    assert (reply.text, reply.request_id) == ("from the cassette", "req_from_file")
    assert again.text == "from the cassette"
    assert f"Local model server on {base}" in output.decode()
