"""SIGKILL a real worker while it works through a conversation's inbox.

An echo flow waits for the user; ten messages are stored (acknowledged) before any
worker runs. The doomed worker dies before the commit of its first inbox turn (the
engine ran, the reply was written, nothing committed); a fresh one must then process
every message once, in Meta's order.
"""

from __future__ import annotations

import signal

import httpx
import pytest
from durability_support import Processes, eventually
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
)
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage
from threadline.sandbox.state import SandboxState

COUNT = 10


def _echo_texts(sandbox: SandboxState) -> list[str]:
    return [e.payload["text"]["body"] for e in sandbox.outbox if e.payload["type"] == "text"]


async def _inbound(resources: Resources) -> list[WhatsappMessage]:
    async with resources.db.session() as session:
        statement = select(WhatsappMessage).where(WhatsappMessage.direction == "inbound")
        return list((await session.execute(statement)).scalars())


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["inbox.before_commit"])
async def test_a_worker_killed_mid_inbound_loses_nothing_and_repeats_nothing(
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
    await run_jobs(resources)
    for n in range(COUNT):
        item = inbound_text(f"wamid.{n}", f"m{n}", at=2_000 + n)
        assert (await post_webhook(client, delivery(messages=[item]))).status_code == 200

    doomed = await processes.worker(
        settings, name="doomed", THREADLINE_CRASH_AT=crash_at, THREADLINE_WORKER_CONCURRENCY="1"
    )
    assert await doomed.wait(timeout=20) == -signal.SIGKILL, doomed.output()
    assert _echo_texts(sandbox) == []

    fresh = await processes.worker(settings, name="fresh")

    async def all_echoed() -> bool:
        return len(_echo_texts(sandbox)) >= COUNT

    await eventually(all_echoed, timeout=30, what="every message to be echoed")
    assert _echo_texts(sandbox) == [f"echo m{n}" for n in range(COUNT)]
    inbound = await _inbound(resources)
    assert len(inbound) == COUNT + 1
    assert {m.processing_status for m in inbound} == {"processed"}
    assert fresh.returncode is None, fresh.output()
