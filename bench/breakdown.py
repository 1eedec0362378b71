"""``python -m bench.breakdown``: CPU cost of each step of one resume cycle, measured serially.

Not part of ``make bench``: a diagnostic behind docs/benchmarks.md. One execution at a
time, no concurrency, so each step's CPU (``time.process_time`` of this process, which
includes aiosqlite's thread) and its SQL are its own. A cycle is the resume, then every
job that is due, claimed and run one at a time and named by its task
(``cycle.<n>_claim.<task>``, ``cycle.<n>_run.<task>``: at 256d298 an advance and a
deliver job; none is assumed), until the reply is in the sandbox outbox. Then the resume
request through the ASGI app (``request.*``, client included, no worker). Prints one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench import fixture, procs, workload
from bench.sqlcount import StatementCounter
from threadline.app import create_app
from threadline.executions import service as executions
from threadline.executions.schemas import ResumeIn
from threadline.jobs import repository as jobs
from threadline.jobs.registry import registry
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.tasks import load_tasks


class Steps:
    """Accumulates CPU, wall time and SQL per named step."""

    def __init__(self, counter: StatementCounter) -> None:
        self.counter = counter
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.sql: dict[str, dict[str, float]] = {}
        self.n: dict[str, int] = {}

    async def measure(
        self, name: str | Callable[[Any], str], step: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Run ``step`` and add its CPU, wall time and SQL to ``name`` (or ``name(result)``)."""
        self.counter.take(1)
        cpu, wall = time.process_time(), time.perf_counter()
        result = await step()
        name = name if isinstance(name, str) else name(result)
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
        for verb, count in self.counter.take(1).items():
            self.sql.setdefault(name, {})
            self.sql[name][verb] = self.sql[name].get(verb, 0) + count
        self.n[name] = self.n.get(name, 0) + 1
        return result

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, count in self.n.items():
            out[name] = {
                "cpu_ms": round(1000 * self.cpu[name] / count, 3),
                "wall_ms": round(1000 * self.wall[name] / count, 3),
                "sql": {k: round(v / count, 2) for k, v in self.sql[name].items()},
            }
        cycle = [v for k, v in out.items() if k.startswith("cycle.")]
        out["cycle_total_cpu_ms"] = round(sum(v["cpu_ms"] for v in cycle), 3)
        out["cycle_total_sql"] = {
            verb: round(sum(v["sql"].get(verb, 0) for v in cycle), 2)
            for verb in sorted({verb for v in cycle for verb in v["sql"]})
        }
        return out


#: A cycle that needs more jobs than this is a loop, not a cycle.
MOST_JOBS_PER_CYCLE = 10


async def _claim_one(resources: Resources) -> Any:
    async with resources.db.transaction() as session:
        claimed = await jobs.claim(session, now=utcnow(), limit=1, lease_seconds=30)
    return claimed[0] if claimed else None


async def _run_job(resources: Resources, job: Any) -> None:
    context = JobContext(job=job, resources=resources)
    await registry.get(job.task).handler(context)
    if not context.finished:  # what Worker._run_one does after a handler that did not finish
        async with resources.db.transaction() as session:
            await context.finish(session)


async def _drain(resources: Resources, steps: Steps | None, most: int = MOST_JOBS_PER_CYCLE) -> int:
    """Claim and run due jobs one at a time until none is due (at most ``most``); how many.

    With ``steps``, each claim and run is measured under the job's task and its position;
    the last, empty claim is measured apart (``worker_empty_claim``), not in the cycle.
    """
    for position in range(most):
        n = 2 + 2 * position

        def claimed(job: Any, n: int = n) -> str:
            return f"cycle.{n}_claim.{job.task}" if job is not None else "worker_empty_claim"

        claim = partial(_claim_one, resources)
        job = await (steps.measure(claimed, claim) if steps else claim())
        if job is None:
            return position
        run = partial(_run_job, resources, job)
        await (steps.measure(f"cycle.{n + 1}_run.{job.task}", run) if steps else run())
    raise RuntimeError(f"more than {most} jobs due in a row")


async def _request_path(
    resources: Resources, world: fixture.World, ids: list[Any], steps: Steps
) -> None:
    """The resume request through the ASGI app (no socket, no worker), httpx client included;
    ``GET /health`` the same way is the floor of client + framework."""
    app = create_app(resources.settings, resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def health() -> None:
            (await client.get("/health")).raise_for_status()

        for _ in range(len(ids)):
            await steps.measure("request.get_health_incl_client", health)
        for execution_id in ids:

            async def resume(execution_id: Any = execution_id) -> None:
                response = await client.post(
                    f"/api/v1/flow_executions/{execution_id}/resume",
                    json={"input": "request"},
                    headers={"X-API-Key": world.api_key},
                )
                response.raise_for_status()

            await steps.measure("request.resume_incl_client", resume)


async def breakdown(
    backend: str, count: int, workdir: Path, sandbox: procs.Child
) -> dict[str, Any]:
    if backend == "postgresql":
        reason = await fixture.postgres_reachable()
        if reason:
            return {"skipped": reason}
        url = await fixture.fresh_postgres()
    else:
        url = fixture.sqlite_url(workdir)
    resources = Resources.create(fixture.settings_for(url, workdir, fixture.new_secret_key()))
    outbox = workload.Sandbox(sandbox.url)
    try:
        world = await fixture.build_world(url, resources, sandbox.url)
        counter = StatementCounter(resources.db.engine, resources.db.priority_engine)
        steps = Steps(counter)

        async def trivial() -> None:
            async with resources.db.transaction() as session:
                await session.execute(text("SELECT 1"))

        for _ in range(count):
            await steps.measure("baseline.transaction_with_select_1", trivial)
        ids, _, _ = await workload.start_many(resources, world, range(count), 1)
        base = await outbox.outbox_count()
        await _drain(resources, None, most=MOST_JOBS_PER_CYCLE * count)  # the first messages
        await outbox.wait_for(base + count, timeout=60, what="first messages")
        jobs_per_cycle = []
        for index, execution_id in enumerate(ids):

            async def resume(execution_id: Any = execution_id, index: int = index) -> None:
                async with resources.db.transaction() as session:
                    await executions.resume(
                        session, world.project, execution_id, ResumeIn(input=f"b{index}")
                    )

            await steps.measure("cycle.1_resume_service_call", resume)
            jobs_per_cycle.append(await _drain(resources, steps))
            # The cycle is done when its reply is in the sandbox, whoever sent it.
            await outbox.wait_for(base + count + index + 1, timeout=10, what=f"reply {index}")

        async def idle_poll() -> None:  # as Worker._due_tasks probes
            async with resources.db.read() as session:
                await jobs.due_tasks(session, now=utcnow(), tasks=registry.names())

        for _ in range(count):
            await steps.measure("worker_idle_poll_due_probe", idle_poll)
        await _request_path(resources, world, ids, steps)
        return steps.report() | {"jobs_per_cycle": sum(jobs_per_cycle) / len(jobs_per_cycle)}
    finally:
        await outbox.close()
        await resources.close()
        if backend == "postgresql":
            await fixture.drop_postgres()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_tasks()
    workdir = Path(tempfile.mkdtemp(prefix="threadline-breakdown-"))
    sandbox = procs.start_sandbox(workdir)
    try:
        await sandbox.wait_ready("/_sandbox/health")
        return {name: await breakdown(name, args.count, workdir, sandbox) for name in args.backend}
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument(
        "--pg-database",
        default=fixture.PG_DATABASE,
        help="the bench's own PostgreSQL database (dropped and created; never `test`)",
    )
    args = parser.parse_args(sys.argv[1:])
    fixture.use_database(args.pg_database)
    args.backend = args.backend or ["sqlite", "postgresql"]
    print(json.dumps(asyncio.run(main(args)), indent=2))


if __name__ == "__main__":
    run()
