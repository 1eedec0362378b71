"""The load: starting executions, resuming them in-process or over HTTP, and timing it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.fixture import World, phone
from bench.procs import log
from threadline.executions import service as executions
from threadline.executions.schemas import ExecutionCreate, ResumeIn
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, Job


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """p50/p90/p99/max of durations given in seconds, as milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "count": len(seconds),
        "p50": ms(percentile(seconds, 50)),
        "p90": ms(percentile(seconds, 90)),
        "p99": ms(percentile(seconds, 99)),
        "max": ms(max(seconds) if seconds else None),
    }


async def bounded(
    items: Sequence[Any], concurrency: int, one: Callable[[Any], Awaitable[None]]
) -> None:
    """Run ``one`` over ``items`` with at most ``concurrency`` in flight (closed loop)."""
    iterator = iter(items)

    async def lane() -> None:
        for item in iterator:
            await one(item)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, len(items)))))


# Sandbox outbox: the end of every cycle ---------------------------------------------------


class Sandbox:
    """The sandbox process's control plane, seen from the bench."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=10.0)

    async def outbox_count(self) -> int:
        response = await self.client.get("/_sandbox/health")
        response.raise_for_status()
        return int(response.json()["outbox_count"])

    async def outbox_since(self, since: datetime) -> list[dict[str, Any]]:
        """The sends the sandbox accepted at or after ``since`` (wall clock, UTC)."""
        response = await self.client.get("/_sandbox/outbox", params={"since": since.isoformat()})
        response.raise_for_status()
        return list(response.json()["data"])

    async def reply_latencies(
        self, scheduled: dict[str, float], body: str, since: float
    ) -> dict[str, Any]:
        """From each resume's scheduled time to its reply's arrival in the sandbox outbox.

        ``scheduled`` maps the recipient's digits to a wall-clock time (``time.time()``);
        the reply is the send to that number whose text is ``body``. The sandbox stamps
        ``received_at`` with the same machine clock when it accepts the Graph call.
        """
        entries = await self.outbox_since(datetime.fromtimestamp(since - 1, UTC))
        seconds = []
        for entry in entries:
            text = entry.get("payload", {}).get("text", {}).get("body")
            began = scheduled.get(entry.get("wa_id", ""))
            if text == body and began is not None:
                received = datetime.fromisoformat(entry["received_at"].replace("Z", "+00:00"))
                seconds.append(received.timestamp() - began)
        return {**summary_ms(seconds), "of": len(scheduled)}

    async def clear(self) -> None:
        (await self.client.delete("/_sandbox/outbox")).raise_for_status()

    async def wait_for(self, target: int, *, timeout: float, what: str) -> float:
        """Poll until the outbox holds ``target`` sends; the time it happened."""
        deadline = time.monotonic() + timeout
        while True:
            count = await self.outbox_count()
            if count >= target:
                return time.perf_counter()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: sandbox outbox at {count}, expected {target}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.client.aclose()


async def queue_state(resources: Resources, ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """How many of ``ids`` are waiting, and which jobs are left (for checks and errors)."""
    async with resources.db.session() as session:
        waiting = 0
        chunk = 500
        for start in range(0, len(ids), chunk):
            part = list(ids[start : start + chunk])
            waiting += (
                await session.execute(
                    select(func.count())
                    .select_from(FlowExecution)
                    .where(FlowExecution.id.in_(part), FlowExecution.status == "waiting")
                )
            ).scalar_one()
        jobs = (
            await session.execute(
                select(Job.task, Job.status, func.count()).group_by(Job.task, Job.status)
            )
        ).all()
    return {
        "waiting": int(waiting),
        "of": len(ids),
        "jobs": {f"{t}/{s}": int(c) for t, s, c in jobs},
    }


# Starting -------------------------------------------------------------------------------


async def start_many(
    resources: Resources,
    world: World,
    indices: Sequence[int],
    concurrency: int,
    *,
    prefix: str = "+1555",
) -> tuple[list[uuid.UUID], float, list[float]]:
    """Start one execution per index (service layer, one transaction each)."""
    ids: list[uuid.UUID] = []
    latencies: list[float] = []

    async def one(index: int) -> None:
        began = time.perf_counter()
        async with resources.db.transaction() as session:
            started = await executions.start(
                session,
                world.project,
                world.flow_id,
                ExecutionCreate(phone_number=phone(index, prefix)),
                inactivity=timedelta(minutes=resources.settings.conversation_inactivity_minutes),
            )
        latencies.append(time.perf_counter() - began)
        ids.append(started.execution.id)

    began = time.perf_counter()
    await bounded(indices, concurrency, one)
    return ids, time.perf_counter() - began, latencies


# Resuming -------------------------------------------------------------------------------


@dataclass
class Resumer:
    """Resumes a batch of executions and records each call's latency."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def resume_all(self, ids: Sequence[uuid.UUID], round_no: int, concurrency: int) -> None:
        raise NotImplementedError


@dataclass
class InProcessResumer(Resumer):
    """``executions.service.resume`` inside ``resources.db.transaction()`` (no HTTP, no ASGI)."""

    resources: Resources | None = None
    world: World | None = None

    async def resume_all(self, ids: Sequence[uuid.UUID], round_no: int, concurrency: int) -> None:
        assert self.resources is not None and self.world is not None
        resources, project = self.resources, self.world.project

        async def one(execution_id: uuid.UUID) -> None:
            began = time.perf_counter()
            try:
                async with resources.db.transaction() as session:
                    await executions.resume(
                        session, project, execution_id, ResumeIn(input=f"r{round_no}")
                    )
            except Exception as error:  # recorded, reported in the JSON
                self.errors.append(f"{type(error).__name__}: {error}")
                return
            self.latencies.append(time.perf_counter() - began)

        await bounded(ids, concurrency, one)


@dataclass
class HttpResumer(Resumer):
    """``POST /api/v1/flow_executions/{id}/resume`` over real HTTP (httpx, keep-alive)."""

    client: httpx.AsyncClient | None = None
    api_key: str = ""

    async def send(self, execution_id: uuid.UUID, round_no: int) -> bool:
        assert self.client is not None
        response = await self.client.post(
            f"/api/v1/flow_executions/{execution_id}/resume",
            json={"input": f"r{round_no}"},
            headers={"X-API-Key": self.api_key},
        )
        if response.status_code != 200:
            self.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            return False
        return True

    async def resume_all(self, ids: Sequence[uuid.UUID], round_no: int, concurrency: int) -> None:
        async def one(execution_id: uuid.UUID) -> None:
            began = time.perf_counter()
            try:
                ok = await self.send(execution_id, round_no)
            except httpx.HTTPError as error:
                self.errors.append(f"{type(error).__name__}: {error}")
                return
            if ok:
                self.latencies.append(time.perf_counter() - began)

        await bounded(ids, concurrency, one)


def http_client(url: str, connections: int) -> httpx.AsyncClient:
    """A keep-alive client for the load (one pool of ``connections``)."""
    return httpx.AsyncClient(
        base_url=url,
        timeout=60.0,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


async def full_cycles(
    resumer: Resumer,
    sandbox: Sandbox,
    ids: Sequence[uuid.UUID],
    *,
    rounds: int,
    concurrency: int,
    first_round: int,
    timeout: float,
    what: str,
) -> dict[str, Any]:
    """``rounds`` x (resume every id, then wait until every reply is in the sandbox outbox).

    A round counts only when all ``len(ids)`` executions have had their reply delivered,
    which happens after the advance job committed them back to ``waiting``.
    """
    base = await sandbox.outbox_count()
    began = time.perf_counter()
    round_times = []
    for index in range(rounds):
        round_began = time.perf_counter()
        await resumer.resume_all(ids, first_round + index, concurrency)
        calls_done = time.perf_counter()
        if resumer.errors:
            raise RuntimeError(
                f"{what}: {len(resumer.errors)} resume errors, first: {resumer.errors[0]}"
            )
        done = await sandbox.wait_for(base + (index + 1) * len(ids), timeout=timeout, what=what)
        round_times.append(
            {"calls_s": round(calls_done - round_began, 3), "cycle_s": round(done - round_began, 3)}
        )
    elapsed = time.perf_counter() - began
    cycles = rounds * len(ids)
    log(f"{what}: {cycles} cycles in {elapsed:.2f}s = {cycles / elapsed:.0f}/s")
    return {
        "cycles": cycles,
        "elapsed_s": round(elapsed, 3),
        "per_second": round(cycles / elapsed, 1),
        "rounds": round_times,
        "resume_call_latency_ms": summary_ms(resumer.latencies),
    }


async def open_loop(
    resumer: HttpResumer,
    ids: Sequence[uuid.UUID],
    *,
    rate: float,
    round_no: int,
    scheduled_wall: dict[uuid.UUID, float] | None = None,
) -> dict[str, Any]:
    """Resume ``ids`` at a fixed arrival rate, whatever the answers' speed (open loop).

    Latency is measured from each request's *scheduled* send time, so a stalled client
    or server cannot hide queueing (no coordinated omission); ``from_send`` is from the
    moment the request was actually handed to httpx. ``scheduled_wall``, if given, gets
    each id's scheduled time on the wall clock (for :meth:`Sandbox.reply_latencies`).
    """
    loop = asyncio.get_running_loop()
    scheduled_lat: list[float] = []
    send_lat: list[float] = []
    late: list[float] = []

    async def one(execution_id: uuid.UUID, scheduled: float) -> None:
        sent = loop.time()
        late.append(sent - scheduled)
        try:
            ok = await resumer.send(execution_id, round_no)
        except httpx.HTTPError as error:
            resumer.errors.append(f"{type(error).__name__}: {error}")
            return
        if ok:
            done = loop.time()
            scheduled_lat.append(done - scheduled)
            send_lat.append(done - sent)

    interval = 1.0 / rate
    origin = loop.time() + 0.05
    wall_offset = time.time() - loop.time()
    tasks = []
    for index, execution_id in enumerate(ids):
        scheduled = origin + index * interval
        if scheduled_wall is not None:
            scheduled_wall[execution_id] = scheduled + wall_offset
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(execution_id, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - origin
    return {
        "target_rate_per_s": round(rate, 1),
        "achieved_rate_per_s": round(len(ids) / elapsed, 1) if elapsed > 0 else None,
        "requests": len(ids),
        "errors": len(resumer.errors),
        "latency_ms": summary_ms(scheduled_lat),
        "latency_from_send_ms": summary_ms(send_lat),
        "client_send_lag_ms_p99": summary_ms(late)["p99"],
    }
