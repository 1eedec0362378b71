"""The start overhead of ``python -m bench.agents --starts N``: CPU and SQL per agent start.

``N`` agent executions started one after another, each by a new phone number (so each
makes its contact, its conversation and the conversation's inactivity timer, as a first
message from a new user does), through ``agent_executions.service.start`` in its own
transaction, as ``POST /agents/{id}/executions`` does. It runs before the worker: the
model-call jobs the starts queue are dropped after, so no turn's CPU is counted here.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete

from bench import fixture, procs
from bench.agent_world import World, start_agent
from bench.sqlcount import StatementCounter
from threadline.executions.keys import MODEL_CALL_TASK
from threadline.kit.resources import Resources
from threadline.models import Job


async def start_overhead(
    resources: Resources,
    world: World,
    count: int,
    counter: StatementCounter,
    reads: StatementCounter | None,
) -> dict[str, Any]:
    """``count`` sequential starts (after one to warm up); CPU and SQL per start."""
    await start_agent(resources, world, fixture.phone(count, "+1554"))
    counter.take(1)
    if reads is not None:
        reads.take(1)
    pg = not resources.db.is_sqlite
    meter = procs.CpuMeter({}, include_postgres=pg).start()
    cpu_before, began = time.process_time(), time.perf_counter()
    for index in range(count):
        await start_agent(resources, world, fixture.phone(index, "+1554"))
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - began
    machine = meter.stop(count)
    result = {
        "starts": count,
        "cpu_ms_per_start": round(1000 * cpu / count, 3),
        "wall_ms_per_start": round(1000 * wall / count, 3),
        "sql_per_start": counter.take(count),
        "sqlite_reads_per_start": reads.take(count) if reads is not None else None,
        "postgres_cpu_ms_per_start": (machine.get("postgres") or {}).get("cpu_ms_per_op")
        if pg
        else None,
    }
    await _drop_model_calls(resources)
    return result


async def _drop_model_calls(resources: Resources) -> None:
    """The starts' queued model calls: not this benchmark's, and not the next one's."""
    async with resources.db.transaction() as session:
        await session.execute(delete(Job).where(Job.task == MODEL_CALL_TASK))
