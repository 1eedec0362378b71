"""SIGKILL a real worker process at each point of a flow's life, then recover with a fresh one.

Every scenario runs the same flow::

    start → ask "Question?" → wait1 → reply "You said blue" → wait2 → bye "Bye"

"Question?" is delivered before the doomed worker starts. A resume runs the engine in
its own transaction, so a worker's own steps are timeouts (and calls): where the kill
lands mid-step, wait1 is left by its timer, made due just before the doomed worker
starts, whose work is then: advance past wait1 (writing the reply to the outbox) and
deliver the reply. Elsewhere wait1 is resumed through the API (``input: blue``) and the
doomed worker only delivers the reply. The execution starts with ``answer: blue``, so
both ways write the same reply. The worker runs with ``THREADLINE_WORKER_CONCURRENCY=1``
so it does that work one job at a time and the kill lands exactly where the crash point is.

After the kill a fresh worker process (no crash point) must bring the execution to
wait2 with every outbox row settled, no message sent twice, and only the documented
unknown-outcome window ("sending" when the process died) ending in ``unknown``. Then
wait2 is resumed and the execution must run to its end.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from durability_support import (
    PENDING,
    Processes,
    event_kinds,
    eventually,
    execution_row,
    jobs,
    outbox_rows,
    sandbox_bodies,
    sandbox_control,
    takeover_seconds,
)

from builders import (
    chain,
    create_active_flow,
    create_project,
    make_wait_timers_due,
    node,
    start_execution,
)
from threadline.config import Settings
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.messaging.settle import SETTLE_TASK
from threadline.sandbox.state import SandboxState

REPLY = "You said blue"
#: A SIGKILLed worker's jobs are taken over within this many seconds, with the default lease.
TAKEOVER_LIMIT = 10.0


def two_waits() -> dict[str, Any]:
    return chain(
        node("start", "start"),
        node("ask", "send_text", message="Question?"),
        node("wait1", "wait_for_response", save_response_to="answer", timeout_seconds=3600),
        node("reply", "send_text", message="You said {{vars.answer}}"),
        node("wait2", "wait_for_response"),
        node("bye", "send_text", message="Bye"),
    )


@dataclass(frozen=True)
class Scenario:
    """Where the worker dies, what the DB shows right after, and how the reply settles."""

    id: str
    crash_at: str | None  # None: SIGKILLed by the test mid Graph call (slow sandbox)
    leave_wait1_by: str  # "timeout": the doomed worker runs the step; "api": the resume
    # Right after the kill:
    status: str  # execution status
    node_id: str  # execution node
    reply_row: str | None  # outbox status of the reply (None: not written)
    reply_copies_at_kill: int  # copies of the reply the sandbox holds
    # After recovery:
    reply_final: str  # "sent", or "unknown" inside the unknown-outcome window
    reply_copies: int  # copies of the reply in the sandbox, ever


SCENARIOS = [
    # Mid-step: the engine ran, nothing committed. The step is redone from scratch.
    Scenario(
        "mid-step", "advance.before_commit", "timeout", "waiting", "wait1", None, 0, "sent", 1
    ),
    # Step committed with its outbox row; nothing delivered yet.
    Scenario(
        "outbox-written",
        "advance.after_commit",
        "timeout",
        "waiting",
        "wait2",
        "queued",
        0,
        "sent",
        1,
    ),
    # The attempt is recorded ("sending") but the Graph call was never made: the
    # documented unknown window; the message is flagged, never resent (0 copies).
    Scenario(
        "attempt-recorded",
        "deliver.after_attempt_recorded",
        "api",
        "waiting",
        "wait2",
        "sending",
        0,
        "unknown",
        0,
    ),
    # Meta (the sandbox) accepted it; Threadline never wrote that down.
    Scenario(
        "after-send", "deliver.after_send", "api", "waiting", "wait2", "sending", 1, "unknown", 1
    ),
    # No crash point: killed by the test while the Graph call is in flight (1.5 s latency).
    Scenario("killed-mid-call", None, "api", "waiting", "wait2", "sending", 1, "unknown", 1),
]


async def _resume(client: httpx.AsyncClient, headers: dict[str, str], execution_id: str) -> None:
    response = await client.post(
        f"/api/v1/flow_executions/{execution_id}/resume", headers=headers, json={"input": "blue"}
    )
    assert response.status_code == 200, response.text


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_sigkill_then_fresh_worker_recovers(
    scenario: Scenario,
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox: SandboxState,
    sandbox_url: str,
    processes: Processes,
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, two_waits())
    started = await start_execution(client, project, flow_id, variables={"answer": "blue"})
    execution_id = str(started["id"])
    await Worker(resources).run_until_idle()
    assert sandbox_bodies(sandbox) == {"Question?": 1}
    if scenario.leave_wait1_by == "api":
        await _resume(client, project.headers, execution_id)
    else:
        await make_wait_timers_due(resources)

    # -- the doomed worker --------------------------------------------------------------
    if scenario.crash_at is not None:
        doomed = await processes.worker(
            settings,
            name="doomed",
            THREADLINE_CRASH_AT=scenario.crash_at,
            THREADLINE_WORKER_CONCURRENCY="1",
        )
    else:
        await sandbox_control(sandbox_url, "config", {"latency_ms": 1500})
        doomed = await processes.worker(settings, name="doomed")

        async def reply_accepted() -> bool:
            return sandbox_bodies(sandbox)[REPLY] == 1

        await eventually(reply_accepted, timeout=20, what="the sandbox to accept the reply")
        doomed.kill()
    returncode = await doomed.wait(timeout=20)
    died_at = time.monotonic()
    assert returncode == -signal.SIGKILL, doomed.output()
    await sandbox_control(sandbox_url, "config", {"latency_ms": 0})

    # -- where exactly it died ------------------------------------------------------------
    row = await execution_row(resources, execution_id)
    assert (row.status, row.current_node_id) == (scenario.status, scenario.node_id)
    replies = [m for m in await outbox_rows(resources, execution_id) if m.node_id == "reply"]
    assert [m.status for m in replies] == ([scenario.reply_row] if scenario.reply_row else [])
    assert sandbox_bodies(sandbox)[REPLY] == scenario.reply_copies_at_kill

    # -- a fresh worker recovers ------------------------------------------------------------
    fresh = await processes.worker(settings, name="fresh")
    try:
        takeover = await takeover_seconds(resources, died_at, timeout=20)
    except AssertionError as error:
        raise AssertionError(f"{error}\nthe fresh worker printed:\n{fresh.output()}") from None
    lease = Settings.model_fields["job_lease_seconds"].default
    if takeover is None:
        print(f"[{scenario.id}] the dead worker held no job: nothing to take over")
    else:
        print(f"[{scenario.id}] takeover after SIGKILL: {takeover:.1f} s (default lease {lease} s)")
        assert takeover < TAKEOVER_LIMIT, f"took {takeover:.1f}s to take over (lease {lease}s)"

    async def settled_at_wait2() -> bool:
        row = await execution_row(resources, execution_id)
        rows = await outbox_rows(resources, execution_id)
        at_wait2 = (row.status, row.current_node_id) == ("waiting", "wait2")
        return at_wait2 and len(rows) == 2 and all(m.status not in PENDING for m in rows)

    await eventually(settled_at_wait2, timeout=20, what="recovery to wait2, outbox settled")
    print(f"[{scenario.id}] recovered {time.monotonic() - died_at:.1f} s after the SIGKILL")
    assert fresh.returncode is None, fresh.output()

    rows = await outbox_rows(resources, execution_id)
    assert [(m.node_id, m.status) for m in rows] == [
        ("ask", "sent"),
        ("reply", scenario.reply_final),
    ]
    bodies = sandbox_bodies(sandbox)
    assert bodies["Question?"] == 1
    assert bodies[REPLY] == scenario.reply_copies
    kinds = await event_kinds(resources, execution_id)
    assert kinds.count("resumed") == 1, kinds
    expected_unknown = 1 if scenario.reply_final == "unknown" else 0
    assert kinds.count("message_outcome_unknown") == expected_unknown, kinds

    # -- and the execution is not stuck: it runs on to its end -------------------------------
    await _resume(client, project.headers, execution_id)

    async def ended() -> bool:
        row = await execution_row(resources, execution_id)
        rows = await outbox_rows(resources, execution_id)
        return row.status == "ended" and len(rows) == 3 and rows[-1].status == "sent"

    await eventually(ended, timeout=20, what="the execution to end with Bye sent")
    bodies = sandbox_bodies(sandbox)
    assert bodies["Bye"] == 1
    assert max(bodies.values()) == 1, f"a message was sent twice: {bodies}"

    async def no_jobs_left() -> bool:
        # An unknown reply keeps one settling job, looked at every grace period (no status
        # webhook comes in this test): see "The unknown-outcome window".
        left = [job.task for job in await jobs(resources)]
        return left == ([SETTLE_TASK] if scenario.reply_final == "unknown" else [])

    await eventually(no_jobs_left, timeout=10, what="the job queue to drain")
    assert await fresh.terminate() == 0, fresh.output()
