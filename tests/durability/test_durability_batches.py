"""Deliveries in batches: many conversations per batch, each in order, exactly once.

A batch claims up to 32 conversations' delivery jobs at once and sends their messages
concurrently, one at a time per conversation. These tests hold it to the guarantees of
one job per conversation: order, exactly-once with the unknown-outcome window, one
conversation's trouble staying its own, and recovery after a SIGKILL mid-batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from durability_support import (
    PENDING,
    Processes,
    event_kinds,
    eventually,
    jobs,
    outbox_rows,
    sandbox_control,
)
from sqlalchemy import update

from builders import chain, create_active_flow, create_project, node, run_jobs, start_execution
from threadline.config import Settings
from threadline.jobs import repository as job_queue
from threadline.jobs.context import BatchContext
from threadline.jobs.retry import RetryPolicy
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.messaging import hooks, outcomes
from threadline.messaging import tasks as messaging_tasks
from threadline.messaging.service import DELIVER_TASK
from threadline.models import Job
from threadline.sandbox.state import FailureRule, SandboxState

CONVERSATIONS = 12
TEXTS = 4


def texts(count: int) -> dict[str, Any]:
    sends = [node(f"t{i}", "send_text", message=f"Text {i}") for i in range(count)]
    return chain(node("start", "start"), *sends, node("wait", "wait_for_response"))


def phone(i: int) -> str:
    return f"+1555010{i:04d}"


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def received(sandbox: SandboxState) -> dict[str, list[str]]:
    """The texts the sandbox accepted, per recipient (digits only), in arrival order."""
    by_phone: dict[str, list[str]] = {}
    for entry in sandbox.outbox:
        by_phone.setdefault(_digits(entry.to), []).append(entry.payload["text"]["body"])
    return by_phone


async def _start_all(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, count: int, sends: int
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, texts(sends))
    for i in range(count):
        await start_execution(client, project, flow_id, phone=phone(i))


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many jobs each delivery batch of this process held."""
    sizes: list[int] = []
    real: Callable[[BatchContext], Awaitable[None]] = messaging_tasks.deliver_batch

    async def counting(batch: BatchContext) -> None:
        sizes.append(len(batch.jobs))
        await real(batch)

    monkeypatch.setattr(messaging_tasks, "deliver_batch", counting)
    return sizes


async def test_many_conversations_in_one_batch_each_keep_their_order(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    batch_sizes: list[int],
) -> None:
    await _start_all(client, resources, sandbox_url, CONVERSATIONS, TEXTS)
    await run_jobs(resources)

    assert max(batch_sizes) == CONVERSATIONS, f"not one batch for all: {batch_sizes}"
    expected = [f"Text {i}" for i in range(TEXTS)]
    assert received(sandbox) == {_digits(phone(i)): expected for i in range(CONVERSATIONS)}
    rows = await outbox_rows(resources)
    assert Counter(m.status for m in rows) == {"sent": CONVERSATIONS * TEXTS}
    assert await jobs(resources) == []


async def test_a_transient_error_retries_one_conversation_while_the_others_carry_on(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    batch_sizes: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A long backoff, so that the retry cannot come before the others are done.
    monkeypatch.setattr(RetryPolicy, "delay", lambda _policy, _attempt: 30.0)
    sandbox.failures.append(FailureRule(remaining=1, code=131000, http_status=500))
    await _start_all(client, resources, sandbox_url, CONVERSATIONS, TEXTS)
    await Worker(resources).run_until_idle()

    rows = await outbox_rows(resources)
    retried = {m.conversation_id for m in rows if m.status == "queued"}
    assert len(retried) == 1, "exactly the conversation whose send failed waits"
    assert Counter(m.status for m in rows) == {"sent": (CONVERSATIONS - 1) * TEXTS, "queued": TEXTS}
    (waiting,) = [j for j in await jobs(resources) if j.status == "queued"]
    assert (waiting.attempts, waiting.last_error is not None) == (1, True)

    await run_jobs(resources)
    expected = [f"Text {i}" for i in range(TEXTS)]
    assert received(sandbox) == {_digits(phone(i)): expected for i in range(CONVERSATIONS)}
    assert {m.status for m in await outbox_rows(resources)} == {"sent"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "crash_at", [None, "deliver.after_send"], ids=["killed-mid-calls", "after-first-send"]
)
async def test_sigkill_mid_batch_then_every_message_is_sent_once_or_flagged(
    crash_at: str | None,
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox: SandboxState,
    sandbox_url: str,
    processes: Processes,
) -> None:
    """A worker process dies while a batch's sends are in flight; a fresh one recovers.

    What was in flight (``sending``) ends ``unknown`` (the documented window: never sent
    twice); everything else is sent exactly once, each conversation in order.
    """
    count = 8
    await _start_all(client, resources, sandbox_url, count, 2)
    if crash_at is None:
        await sandbox_control(sandbox_url, "config", {"latency_ms": 1500})
        doomed = await processes.worker(settings, name="doomed")

        async def all_in_flight() -> bool:
            return len(sandbox.outbox) == count  # every first text accepted, none answered

        await eventually(all_in_flight, timeout=20, what="the batch's sends to be in flight")
        doomed.kill()
    else:
        doomed = await processes.worker(settings, name="doomed", THREADLINE_CRASH_AT=crash_at)
    assert await doomed.wait(timeout=20) == -signal.SIGKILL, doomed.output()
    await sandbox_control(sandbox_url, "config", {"latency_ms": 0})
    in_flight = {m.id for m in await outbox_rows(resources) if m.status == "sending"}
    assert in_flight, "the worker died with no attempt in flight"

    fresh = await processes.worker(settings, name="fresh")

    async def settled() -> bool:
        rows = await outbox_rows(resources)
        return len(rows) == 2 * count and all(m.status not in PENDING for m in rows)

    await eventually(settled, timeout=30, what="every message to be settled")
    rows = await outbox_rows(resources)
    copies = Counter((_digits(m.phone_number), m.payload["text"]["body"]) for m in rows)
    accepted = Counter(
        (_digits(e.to), e.payload["text"]["body"]) for e in sandbox.outbox if e.type == "text"
    )
    for m in rows:
        key = (_digits(m.phone_number), m.payload["text"]["body"])
        assert copies[key] == 1
        if m.id in in_flight:
            assert m.status == "unknown", (m.id, m.status)
            assert accepted[key] <= 1, f"{key} sent twice"
        else:
            assert (m.status, accepted[key]) == ("sent", 1), key
    for texts_of in received(sandbox).values():
        assert texts_of == sorted(texts_of), "a conversation's texts left out of order"
    assert await fresh.terminate() == 0, fresh.output()


async def test_a_delivery_job_taken_over_mid_batch_is_left_to_its_new_holder(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """One conversation's job is taken over while the batch's sends are in flight: the
    batch records the send it made, then neither claims that conversation's next message
    nor ends its job; the new holder delivers the rest. Nothing is sent twice."""
    count = 4
    await _start_all(client, resources, sandbox_url, count, 2)
    await sandbox_control(sandbox_url, "config", {"latency_ms": 800})
    a = Worker(resources)
    running = asyncio.create_task(a.run())
    try:

        async def in_flight() -> bool:
            return len(sandbox.outbox) == count

        await eventually(in_flight, timeout=10, what="the first texts to be in flight")
        victim = await _take_over_one(resources)
        await eventually(lambda: _only_running(resources, victim), timeout=10, what="A's end")
        rows = await outbox_rows(resources)
        (held,) = [j for j in await jobs(resources) if j.id == victim]
        assert (held.status, held.attempts) == ("running", 2), "the new holder's job untouched"
        stolen = [m for m in rows if str(m.conversation_id) == held.payload["conversation_id"]]
        assert [m.status for m in stolen] == ["sent", "queued"], "A went on for a lost job"
    finally:
        a.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 10)

    await sandbox_control(sandbox_url, "config", {"latency_ms": 0})
    await _expire_lease(resources, victim)  # the new holder stalls in turn
    await run_jobs(resources)
    assert {m.status for m in await outbox_rows(resources)} == {"sent"}
    assert received(sandbox) == {_digits(phone(i)): ["Text 0", "Text 1"] for i in range(count)}


async def _expire_lease(resources: Resources, job_id: int) -> None:
    async with resources.db.transaction() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=past))


async def _take_over_one(resources: Resources) -> int:
    """What another worker does once A's lease on one delivery job has run out."""
    victim = next(j.id for j in await jobs(resources) if j.task == DELIVER_TASK)
    async with resources.db.transaction() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(Job).where(Job.id == victim).values(lease_expires_at=past))
        (taken,) = await job_queue.claim(
            session, now=utcnow(), limit=10, lease_seconds=60, tasks=[DELIVER_TASK]
        )
    assert (taken.id, taken.attempts) == (victim, 2)
    return victim


async def _only_running(resources: Resources, job_id: int) -> bool:
    return [j.id for j in await jobs(resources) if j.status == "running"] == [job_id]


async def test_a_failing_set_based_record_is_done_again_line_by_line(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real, calls = outcomes.sent_many, []

    async def failing_once(*args: Any) -> None:
        calls.append(len(args[1]))
        if len(calls) == 1:
            raise RuntimeError("the set-based UPDATE failed")
        await real(*args)

    monkeypatch.setattr(outcomes, "sent_many", failing_once)
    await _start_all(client, resources, sandbox_url, 4, 2)
    await run_jobs(resources)

    assert calls[0] == 4, "the first round's four sends were recorded together"
    expected = ["Text 0", "Text 1"]
    assert received(sandbox) == {_digits(phone(i)): expected for i in range(4)}
    rows = await outbox_rows(resources)
    assert {m.status for m in rows} == {"sent"}
    for m in rows:
        assert m.execution_id is not None
        assert (await event_kinds(resources, m.execution_id)).count("message_sent") == 2


async def test_a_hook_that_raises_retries_only_its_conversation(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A permanent Graph error whose execution hook raises: that savepoint rolls back and
    that conversation's job retries (its message, attempted, is then ``unknown``: never
    resent); the other conversations' results of the same transaction stay recorded."""
    registered = hooks.execution_hooks()

    async def fail_execution(*args: Any) -> object:
        raise RuntimeError("the hook fails")

    monkeypatch.setattr(hooks, "_registered", [replace(registered, fail_execution=fail_execution)])
    sandbox.failures.append(FailureRule(remaining=1, code=131026, http_status=400))
    await _start_all(client, resources, sandbox_url, 4, 2)
    await Worker(resources).run_until_idle()

    rows = await outbox_rows(resources)
    victim = {m.conversation_id for m in rows if m.status == "sending"}
    assert len(victim) == 1, [(m.conversation_id, m.status) for m in rows]
    others = [m for m in rows if m.conversation_id not in victim]
    assert {m.status for m in others} == {"sent"} and len(others) == 6
    (retried,) = [j for j in await jobs(resources) if j.status == "queued"]
    assert "the hook fails" in (retried.last_error or "")

    monkeypatch.setattr(hooks, "_registered", [registered])
    await run_jobs(resources)
    mine = [m.status for m in await outbox_rows(resources) if m.conversation_id in victim]
    assert mine == ["unknown", "sent"]
