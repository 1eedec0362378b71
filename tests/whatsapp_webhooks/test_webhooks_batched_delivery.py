"""Deliveries in batches: many conversations' events per claim, each conversation in order,
one receiver's trouble its own, and a job taken over mid-batch recorded by no one else."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from test_webhooks_crud import create_webhook
from test_webhooks_hot_path import statements_on

from builders import create_project, default_config_id, queue_webhook_events, run_jobs
from support import eventually
from threadline.config import Settings
from threadline.jobs import repository as job_queue
from threadline.jobs.context import BatchContext
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Job, WebhookDelivery
from threadline.whatsapp_webhooks import delivery, dispatch, names
from threadline.whatsapp_webhooks.events import DELIVER_TASK
from whatsapp_webhooks.conftest import Receiver

CONVERSATIONS = 12


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Retries within the test's time (the backoff's shape is unchanged)."""
    return settings.model_copy(update={"webhook_retry_base_seconds": 0.05})


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many jobs each delivery batch of this process held."""
    sizes: list[int] = []
    real: Callable[[BatchContext], Awaitable[None]] = dispatch.deliver_batch

    async def counting(batch: BatchContext) -> None:
        sizes.append(len(batch.jobs))
        await real(batch)

    monkeypatch.setattr(dispatch, "deliver_batch", counting)
    return sizes


async def _queue(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    receiver: Receiver,
    *,
    conversations: int,
    each: int,
) -> list[str]:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    await create_webhook(
        client, project, config_id, url=receiver.url, events=[names.MESSAGE_RECEIVED]
    )
    return await queue_webhook_events(
        resources, project, config_id, conversations=conversations, each=each
    )


def _by_conversation(receiver: Receiver) -> dict[str, list[int]]:
    """The ``n`` of each event received, per conversation, in arrival order."""
    got: dict[str, list[int]] = {}
    for body in receiver.bodies():
        event = json.loads(body)
        got.setdefault(event["conversation"]["id"], []).append(event["n"])
    return got


async def _deliveries(resources: Resources) -> list[WebhookDelivery]:
    async with resources.db.session() as session:
        statement = select(WebhookDelivery).order_by(WebhookDelivery.id)
        return list((await session.execute(statement)).scalars())


async def _jobs(resources: Resources) -> list[Job]:
    async with resources.db.session() as session:
        statement = select(Job).where(Job.task == DELIVER_TASK).order_by(Job.id)
        return list((await session.execute(statement)).scalars())


async def test_many_conversations_events_go_in_one_claim_with_a_few_statements_each_batch(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    receiver: Receiver,
    batch_sizes: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "RECORD_AFTER_SECONDS", 30.0)  # one recording, even if slow
    ids = await _queue(
        client, resources, sandbox_url, receiver, conversations=CONVERSATIONS, each=2
    )
    table = WebhookDelivery.__tablename__
    with statements_on(resources, "whatsapp_webhook") as seen:
        await Worker(resources).run_until_idle()

    # The second events wait behind the first (one lock key per conversation): two batches.
    assert batch_sizes == [CONVERSATIONS, CONVERSATIONS], batch_sizes
    assert _by_conversation(receiver) == {i: [0, 1] for i in ids}
    on_deliveries = [s for s in seen if table in s]
    # Per batch: the prepare's SELECT … FOR UPDATE, the record's, and one executemany UPDATE.
    assert len(on_deliveries) == 3 * len(batch_sizes), on_deliveries
    webhooks_read = [s for s in seen if "FROM whatsapp_webhooks " in s]
    assert len(webhooks_read) == len(batch_sizes), "one read of the webhooks per batch"
    rows = await _deliveries(resources)
    assert {(r.status, r.attempts, r.response_status) for r in rows} == {("delivered", 1, 200)}
    assert await _jobs(resources) == []


async def test_each_conversation_keeps_its_order_with_two_workers_slow_answers_and_retries(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    ids = await _queue(client, resources, sandbox_url, receiver, conversations=6, each=4)
    receiver.max_delay, receiver.fail_next = 0.03, 4
    async with asyncio.timeout(30):
        while len(receiver.received) < 24:
            await asyncio.gather(*(Worker(resources).run_until_idle() for _ in range(2)))
            await asyncio.sleep(0.05)  # a retry's backoff (about 50 ms)
    assert receiver.failed == 4
    assert _by_conversation(receiver) == {i: [0, 1, 2, 3] for i in ids}
    assert {r.status for r in await _deliveries(resources)} == {"delivered"}


async def test_a_failing_receiver_retries_its_job_alone_while_the_batch_goes_on(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    receiver: Receiver,
    batch_sizes: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await _queue(client, resources, sandbox_url, receiver, conversations=8, each=1)
    down = ids[3]
    receiver.fail_if = lambda body: down.encode() in body
    monkeypatch.setattr(delivery, "backoff", lambda _settings, _attempts: 30.0)
    await Worker(resources).run_until_idle()

    assert batch_sizes == [8]
    assert _by_conversation(receiver) == {i: [0] for i in ids if i != down}
    rows = {str(r.conversation_id): r for r in await _deliveries(resources)}
    failing = rows.pop(down)
    assert (failing.status, failing.attempts, failing.response_status) == ("pending", 1, 503)
    assert failing.last_error == "down"
    assert {r.status for r in rows.values()} == {"delivered"}
    (job,) = await _jobs(resources)
    assert job.status == "queued" and job.payload == {"delivery_id": failing.id}
    assert timedelta(seconds=25) < job.run_at - utcnow() <= timedelta(seconds=30)

    receiver.fail_if = None
    await run_jobs(resources)
    assert _by_conversation(receiver)[down] == [0]


async def test_a_job_taken_over_mid_batch_is_recorded_only_by_its_new_owner(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    await _queue(client, resources, sandbox_url, receiver, conversations=3, each=1)
    receiver.gate = asyncio.Event()
    a = Worker(resources)
    a.lease_seconds = 0.8  # a heartbeat every 0.2 s
    running = asyncio.create_task(a.run())
    try:
        await eventually(lambda: _arrived(receiver, 3), timeout=5, what="the three POSTs")
        taken = await _take_over(resources)
        await eventually(lambda: _lost(a, taken.id), timeout=5, what="A to see the job lost")
        receiver.gate.set()
        await eventually(lambda: _jobs_left(resources, 1), timeout=5, what="A to record")
    finally:
        receiver.gate.set()
        a.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 10)

    rows = {r.id: r for r in await _deliveries(resources)}
    mine = rows.pop(taken.payload["delivery_id"])
    assert (mine.status, mine.attempts) == ("pending", 0), "A recorded nothing for it"
    assert {(r.status, r.attempts) for r in rows.values()} == {("delivered", 1)}
    (left,) = await _jobs(resources)
    assert (left.id, left.status, left.attempts) == (taken.id, "running", 2), "B's, untouched"

    await _expire(resources, taken.id)  # B died: the job runs again, and delivers again
    await Worker(resources).run_until_idle()
    keys = [r.headers["x-idempotency-key"] for r in receiver.received]
    assert len(keys) == 4 and keys.count(mine.event_id) == 2, "at least once, one event id"
    assert {r.status for r in await _deliveries(resources)} == {"delivered"}


async def test_a_slow_receiver_does_not_hold_back_the_batchs_other_conversations(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "RECORD_AFTER_SECONDS", 0.05)
    ids = await _queue(client, resources, sandbox_url, receiver, conversations=4, each=2)
    slow = ids[0]
    receiver.gate, receiver.hold_if = asyncio.Event(), lambda body: slow.encode() in body
    worker = Worker(resources)
    running = asyncio.create_task(worker.run())
    try:
        # The others' second events go while the slow one's first answer is awaited.
        await eventually(lambda: _arrived(receiver, 7), timeout=5, what="the others' events")
        assert _by_conversation(receiver) == {i: [0, 1] for i in ids if i != slow}
        receiver.gate.set()
        await eventually(lambda: _jobs_left(resources, 0), timeout=5, what="every delivery")
    finally:
        receiver.gate.set()
        worker.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 10)
    assert _by_conversation(receiver)[slow] == [0, 1]


async def _arrived(receiver: Receiver, count: int) -> bool:
    return receiver.arrived >= count


async def _lost(worker: Worker, job_id: int) -> bool:
    context = worker._contexts.get(job_id)
    return context is not None and context.lease_lost


async def _jobs_left(resources: Resources, count: int) -> bool:
    return len(await _jobs(resources)) == count


async def _expire(resources: Resources, job_id: int) -> None:
    async with resources.db.transaction() as session:
        await _expire_in(session, job_id)


async def _expire_in(session: AsyncSession, job_id: int) -> None:
    past = utcnow() - timedelta(seconds=1)
    await session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=past))


async def _take_over(resources: Resources) -> Job:
    """What another worker does once this one's lease on the first job has run out (in
    one transaction, so that this one's heartbeat cannot extend the lease in between)."""
    first = (await _jobs(resources))[0]
    async with resources.db.transaction() as session:
        await _expire_in(session, first.id)
        (claimed,) = await job_queue.claim(
            session, now=utcnow(), limit=10, lease_seconds=60, tasks=[DELIVER_TASK]
        )
    assert (claimed.id, claimed.attempts) == (first.id, 2)
    return first
