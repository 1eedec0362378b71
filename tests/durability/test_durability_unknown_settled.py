"""Sends of unknown outcome are settled by Meta's statuses, or resent once after a grace period.

The flow sends "first", then "second", then waits. A real worker is SIGKILLed while
delivering "first": before the request leaves (the attempt recorded, no Graph call) or
after the sandbox accepted it. A fresh worker marks "first" unknown and sends "second".
The sandbox's status webhooks then come in (signed, Meta-shaped, posted to the receiver
as the sandbox would): with "first" never accepted, only "second" has statuses, so after
the 1 s grace period "first" is resent once; with "first" accepted, its own status
(carrying the callback data) settles it and nothing is resent.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import pytest
from durability_support import Processes, event_kinds, eventually, outbox_rows, sandbox_bodies

from builders import (
    chain,
    create_active_flow,
    create_project,
    delivery,
    node,
    post_webhook,
    start_execution,
)
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

PHONE = "+15550001111"


def _status(entry: Any, status: str) -> dict[str, Any]:
    """The status webhook item Meta sends for an accepted send (the sandbox's outbox entry)."""
    item = {
        "id": entry.id,
        "status": status,
        "timestamp": "1760000000",
        "recipient_id": entry.wa_id,
    }
    callback = entry.payload.get("biz_opaque_callback_data")
    if callback:
        item["biz_opaque_callback_data"] = callback
    return item


@pytest.mark.slow
@pytest.mark.parametrize(
    ("crash_at", "policy", "first_copies", "first_final", "resent"),
    [
        ("deliver.after_attempt_recorded", "resend", 1, "sent", 1),  # never left: resent
        ("deliver.after_send", "resend", 1, "delivered", 0),  # accepted: settled by status
        ("deliver.after_attempt_recorded", "never", 0, "unknown", 0),  # the policy says no
    ],
    ids=["kill-before-the-request", "kill-after-meta-accepted", "policy-never"],
)
async def test_an_unknown_send_is_settled_by_statuses_or_resent_once(
    crash_at: str,
    policy: str,
    first_copies: int,
    first_final: str,
    resent: int,
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox: SandboxState,
    sandbox_url: str,
    processes: Processes,
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = chain(
        node("start", "start"),
        node("first", "send_text", message="first"),
        node("second", "send_text", message="second"),
        node("wait", "wait_for_response"),
    )
    flow_id = await create_active_flow(client, project, flow)
    execution_id = str((await start_execution(client, project, flow_id, phone=PHONE))["id"])
    grace = {
        "THREADLINE_UNKNOWN_OUTCOME_GRACE_SECONDS": "1",
        "THREADLINE_UNKNOWN_OUTCOME_POLICY": policy,
    }
    doomed = await processes.worker(
        settings,
        name="doomed",
        THREADLINE_CRASH_AT=crash_at,
        THREADLINE_WORKER_CONCURRENCY="1",
        **grace,
    )
    assert await doomed.wait(timeout=20) == -signal.SIGKILL, doomed.output()
    fresh = await processes.worker(settings, name="fresh", **grace)

    async def second_sent() -> bool:
        rows = await outbox_rows(resources, execution_id)
        return [m.status for m in rows] == ["unknown", "sent"]

    await eventually(second_sent, timeout=30, what='"first" unknown and "second" sent')
    # Meta's status webhooks for what the sandbox accepted, oldest first.
    statuses = [_status(entry, "delivered") for entry in sandbox.outbox]
    assert (await post_webhook(client, delivery(statuses=statuses))).status_code == 200

    async def settled() -> bool:
        rows = await outbox_rows(resources, execution_id)
        return rows[0].status == first_final and sandbox_bodies(sandbox)["first"] == first_copies

    await eventually(settled, timeout=20, what=f'"first" to end {first_final}')
    if policy == "never":
        await asyncio.sleep(2.5)  # two grace periods: still not resent
    await eventually(lambda: _quiet(resources, execution_id), timeout=10, what="no job left")
    bodies = sandbox_bodies(sandbox)
    assert (bodies["first"], bodies["second"]) == (first_copies, 1)
    kinds = await event_kinds(resources, execution_id)
    assert kinds.count("message_outcome_unknown") == 1
    assert kinds.count("message_resent") == resent
    rows = await outbox_rows(resources, execution_id)
    assert (rows[0].resent_at is not None) == bool(resent)
    assert fresh.returncode is None, fresh.output()


async def _quiet(resources: Resources, execution_id: str) -> bool:
    from durability_support import jobs

    return not [j for j in await jobs(resources) if j.task != "executions.timeout"]
