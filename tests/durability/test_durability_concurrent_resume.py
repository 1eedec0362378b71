"""Concurrent resumes over real HTTP advance a waiting execution exactly once.

The compare-and-set (waiting → running) is the only guard: 25 clients race it through
a real uvicorn server, then through two separate server processes sharing the database.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from typing import Any

import httpx
import pytest
from durability_support import (
    Processes,
    event_kinds,
    eventually,
    execution_row,
    free_port,
    outbox_rows,
    sandbox_bodies,
    subprocess_env,
)

from builders import (
    TestProject,
    ask_and_reply,
    create_active_flow,
    create_project,
    start_execution,
)
from threadline.config import Settings
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

CONCURRENT = 25


async def _waiting_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> tuple[TestProject, str]:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution = await start_execution(client, project, flow_id)
    assert execution["status"] == "waiting"
    await Worker(resources).run_until_idle()
    return project, str(execution["id"])


async def _race(
    base_urls: list[str], project: TestProject, execution_id: str
) -> list[httpx.Response]:
    """``CONCURRENT`` resumes at once, spread round-robin over ``base_urls``."""
    clients = [
        httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=100))
        for url in base_urls
    ]
    start = asyncio.Event()

    async def resume(i: int) -> httpx.Response:
        await start.wait()
        http = clients[i % len(clients)]
        return await http.post(
            f"/api/v1/flow_executions/{execution_id}/resume",
            headers=project.headers,
            json={"input": f"answer-{i}"},
        )

    try:
        tasks = [asyncio.create_task(resume(i)) for i in range(CONCURRENT)]
        await asyncio.sleep(0)
        start.set()
        return list(await asyncio.gather(*tasks))
    finally:
        for http in clients:
            await http.aclose()


def _assert_exactly_one_winner(responses: list[httpx.Response]) -> str:
    """One 200 (the flow run on to its end), every other 422 not-resumable; the winner's input."""
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 422: CONCURRENT - 1}, [(r.status_code, r.text) for r in responses]
    for response in responses:
        body: dict[str, Any] = response.json()
        if response.status_code == 422:
            assert body["error"] == "Execution cannot be resumed", body
            assert body["status"] == 422
    (winner,) = [r for r in responses if r.status_code == 200]
    assert winner.json()["data"]["status"] == "ended"
    answer: str = json.loads(winner.request.content)["input"]
    return answer


async def _assert_advanced_once(
    resources: Resources, sandbox: SandboxState, execution_id: str, answer: str
) -> None:
    await Worker(resources).run_until_idle()
    row = await execution_row(resources, execution_id)
    assert row.status == "ended", row.status
    assert row.variables["answer"] == answer
    replies = [m for m in await outbox_rows(resources, execution_id) if m.node_id == "reply"]
    assert len(replies) == 1
    assert replies[0].status == "sent"
    bodies = sandbox_bodies(sandbox)
    assert bodies == {"Question?": 1, f"You said {answer}": 1}, bodies
    assert (await event_kinds(resources, execution_id)).count("resumed") == 1


@pytest.mark.slow
async def test_concurrent_resumes_over_real_http_advance_once(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    live_url: str,
) -> None:
    project, execution_id = await _waiting_execution(client, resources, sandbox_url)

    responses = await _race([live_url], project, execution_id)

    answer = _assert_exactly_one_winner(responses)
    await _assert_advanced_once(resources, sandbox, execution_id, answer)


@pytest.mark.slow
async def test_concurrent_resumes_across_two_server_processes_advance_once(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox: SandboxState,
    sandbox_url: str,
    processes: Processes,
) -> None:
    # The project exists first, so neither server's first-start bootstrap creates one.
    project, execution_id = await _waiting_execution(client, resources, sandbox_url)
    urls = []
    for name in ("api-a", "api-b"):
        port = free_port()
        env = subprocess_env(
            settings,
            THREADLINE_HOST="127.0.0.1",
            THREADLINE_PORT=str(port),
            THREADLINE_EMBEDDED_WORKER="false",
            THREADLINE_SANDBOX_ENABLED="false",
        )
        proc = await processes.start(name, ["serve"], env)
        urls.append((f"http://127.0.0.1:{port}", proc))

    async with httpx.AsyncClient(timeout=2) as http:
        for url, proc in urls:

            async def healthy(url: str = url) -> bool:
                try:
                    return (await http.get(f"{url}/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=20, what=f"{proc.name} to serve {url}")
            assert proc.returncode is None, proc.output()

    responses = await _race([url for url, _ in urls], project, execution_id)

    answer = _assert_exactly_one_winner(responses)
    served_by = Counter(r.request.url.port for r in responses)
    assert len(served_by) == 2, "both server processes took part in the race"
    await _assert_advanced_once(resources, sandbox, execution_id, answer)
    for _url, proc in urls:
        # uvicorn shuts down gracefully, then re-raises the SIGTERM it captured.
        assert await proc.terminate() in (0, -signal.SIGTERM), proc.output()
