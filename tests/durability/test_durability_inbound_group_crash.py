"""SIGKILL a real server while a group of webhook deliveries is open.

A 200 must mean stored, however many deliveries share the group's transaction. One
server acknowledges a first group and is killed; a second dies inside its first group,
before or after the commit (``THREADLINE_CRASH_AT``). Then Meta retries what was not
acknowledged against a third server, and a worker echoes every message once, in
Meta's order.
"""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import pytest
from durability_support import Processes, eventually, free_port, subprocess_env
from sqlalchemy import select

from builders import (
    add_inbound_trigger,
    chain,
    create_active_flow,
    create_project,
    delivery,
    edge,
    inbound_text,
    node,
    post_webhook,
    run_jobs,
    signed,
)
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage
from threadline.sandbox.state import SandboxState

FIRST, SECOND = range(0, 4), range(4, 10)


def _body(n: int) -> bytes:
    item = inbound_text(f"wamid.{n}", f"m{n}", at=2_000 + n)
    return json.dumps(delivery(messages=[item])).encode()


async def _serve(processes: Processes, settings: Settings, name: str, **env: str) -> str:
    port = free_port()
    extra = {
        "THREADLINE_HOST": "127.0.0.1",
        "THREADLINE_PORT": str(port),
        "THREADLINE_EMBEDDED_WORKER": "false",
        "THREADLINE_SANDBOX_ENABLED": "false",
        "THREADLINE_INGEST_GROUP_WINDOW_MS": "300",  # concurrent posts share one group
    }
    await processes.start(name, ["serve"], subprocess_env(settings, **extra | env))
    url = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{url}/health")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, timeout=20, what=f"{name} to serve")
    return url


async def _post_together(url: str, numbers: range) -> set[int]:
    """POST the deliveries at once; the ones answered 200."""

    async def post(http: httpx.AsyncClient, n: int) -> int | None:
        raw, headers = signed(_body(n))
        try:
            answer = await http.post(f"{url}/webhooks/whatsapp", content=raw, headers=headers)
        except httpx.TransportError:
            return None
        return n if answer.status_code == 200 else None

    async with httpx.AsyncClient(timeout=10) as http:
        answers = await asyncio.gather(*(post(http, n) for n in numbers))
    return {n for n in answers if n is not None}


async def _stored(resources: Resources) -> list[str]:
    async with resources.db.session() as session:
        statement = select(WhatsappMessage.wamid).where(WhatsappMessage.direction == "inbound")
        return sorted((await session.execute(statement)).scalars())


def _echoes(sandbox: SandboxState) -> list[str]:
    return [e.payload["text"]["body"] for e in sandbox.outbox if e.payload["type"] == "text"]


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["inbound.group_before_commit", "inbound.group_after_commit"])
async def test_a_server_killed_in_an_open_group_loses_no_acknowledged_delivery(
    crash_at: str,
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox: SandboxState,
    processes: Processes,
    sandbox_url: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    loop = chain(
        node("start", "start"),
        node("wait", "wait_for_response", save_response_to="said"),
        node("echo", "send_text", message="echo {{vars.said}}"),
    )
    loop["edges"].append(edge("echo", "wait"))
    flow_id = await create_active_flow(client, project, loop)
    await add_inbound_trigger(client, project, flow_id, keywords=["start"])
    await post_webhook(client, delivery(messages=[inbound_text("wamid.S", "start", at=1_000)]))
    await run_jobs(resources)  # the flow waits for the user before the messages come

    first = await _serve(processes, settings, "api-first")
    acknowledged = await _post_together(first, FIRST)
    assert acknowledged == set(FIRST)
    processes.started[-1].kill()  # acknowledged, then killed: nothing may be lost

    doomed_url = await _serve(processes, settings, "api-doomed", THREADLINE_CRASH_AT=crash_at)
    doomed = processes.started[-1]
    acknowledged |= await _post_together(doomed_url, SECOND)
    assert await doomed.wait(timeout=20) == -signal.SIGKILL, doomed.output()

    stored = await _stored(resources)
    assert {f"wamid.{n}" for n in acknowledged} <= set(stored), "a 200 was not stored"
    committed = {f"wamid.{n}" for n in SECOND} & set(stored)
    expected = set() if crash_at.endswith("before_commit") else {f"wamid.{n}" for n in SECOND}
    assert committed == expected, "the open group was not one transaction"
    assert acknowledged == set(FIRST), "the doomed server answered before its commit"

    retry = await _serve(processes, settings, "api-retry")
    assert await _post_together(retry, SECOND) == set(SECOND)  # Meta retries the rest
    assert await _stored(resources) == sorted(["wamid.S", *(f"wamid.{n}" for n in range(10))])

    await processes.worker(settings, name="worker")

    async def all_echoed() -> bool:
        return len(_echoes(sandbox)) >= 10

    await eventually(all_echoed, timeout=30, what="every message to be echoed")
    assert _echoes(sandbox) == [f"echo m{n}" for n in range(10)]
