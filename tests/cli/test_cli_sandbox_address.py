"""A project made by ``threadline projects create`` sends to the sandbox of the running server.

The CLI runs with one port, the server with another: the sandbox WhatsApp config must
not have kept the CLI's address (issue 5, item 14). Both the embedded worker and a
separate ``threadline worker`` process (sharing the server's ``THREADLINE_PORT``) deliver.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from builders import TestProject, chain, create_active_flow, node, start_execution
from support import SECRET_KEY, free_port
from threadline.kit.resources import Resources

THREADLINE = str(Path(sys.executable).parent / "threadline")
PHONE = "+15550009999"


def _env(database_url: str, data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(
        THREADLINE_DATABASE_URL=database_url,
        THREADLINE_DATA_DIR=str(data_dir),
        THREADLINE_SECRET_KEY=SECRET_KEY,
        THREADLINE_PORT=str(port),
        THREADLINE_LOG_LEVEL="warning",
        THREADLINE_WORKER_POLL_SECONDS="0.05",
        **extra,
    )
    return env


@pytest.fixture
async def started() -> AsyncIterator[list[Process]]:
    """Processes a test starts; terminated when it ends."""
    processes: list[Process] = []
    yield processes
    for process in processes:
        if process.returncode is None:
            process.terminate()
    for process in processes:
        output, _ = await asyncio.wait_for(process.communicate(), 15)
        print(output.decode(errors="replace"))


async def _spawn(env: dict[str, str], *args: str) -> Process:
    return await asyncio.create_subprocess_exec(
        THREADLINE, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def _wait_for(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        async with asyncio.timeout(30):
            while True:
                try:
                    if (await http.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)


async def _sandbox_received(http: httpx.AsyncClient) -> list[str]:
    outbox = (await http.get("/sandbox/_sandbox/outbox", params={"to": PHONE})).json()
    return [entry["payload"]["text"]["body"] for entry in outbox["data"]]


@pytest.mark.slow
@pytest.mark.parametrize("worker", ["embedded", "separate"])
async def test_a_cli_made_project_sends_to_the_sandbox_of_the_server_on_another_port(
    database_url: str,
    resources: Resources,  # empties the database
    tmp_path: Path,
    started: list[Process],
    worker: str,
) -> None:
    cli_port, server_port = free_port(), free_port()
    cli = await _spawn(
        _env(database_url, tmp_path, cli_port), "projects", "create", "--name", "Acme", "--json"
    )
    output, _ = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0
    ids = json.loads(output)
    project = TestProject(id=ids["project_id"], api_key=ids["api_key"])
    embedded = str(worker == "embedded").lower()
    server_env = _env(database_url, tmp_path, server_port, THREADLINE_EMBEDDED_WORKER=embedded)
    started.append(await _spawn(server_env, "serve"))
    if worker == "separate":
        started.append(await _spawn(server_env, "worker"))
    base = f"http://127.0.0.1:{server_port}"
    await _wait_for(base)

    async with httpx.AsyncClient(base_url=base) as http:
        definition = chain(node("start", "start"), node("hi", "send_text", message="Hello"))
        flow_id = await create_active_flow(http, project, definition)
        await start_execution(http, project, flow_id, phone=PHONE)
        async with asyncio.timeout(20):
            while not await _sandbox_received(http):
                await asyncio.sleep(0.1)
        assert await _sandbox_received(http) == ["Hello"]
