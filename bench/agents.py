"""``python -m bench.agents``: agent turns against the local model server, as JSON.

The local model server runs as its own process (``threadline model-server``), so its CPU
is not the bench's; the worker (``jobs.worker.Worker``) runs in this process on the
task registry minus ``messaging.deliver`` (a turn ends when its reply is *queued* in the
outbox: the delivery to Meta is measured by ``python -m bench``). Per backend:

* **start overhead** (``--starts``, before the worker runs): sequential agent starts by
  new numbers, CPU and SQL per start (``bench/agent_starts.py``).
* **turn overhead** (``--turns``, zero model latency): one conversation, turn after turn:
  the user's message resumes the paused execution (``agent_executions.service.resume`` in
  its own transaction, as the API does), the ``executions.model_call`` job makes the model
  call, the answer is applied (``AskUserForInput``: the reply queued, the execution paused
  again). CPU of this process (``time.process_time()``: every thread, aiosqlite's
  included) per turn, PostgreSQL's backends apart, wall p50/p99, SQL per turn, and a
  profiled second pass (py-spy, else cProfile) saying where the CPU goes.
* **concurrent conversations** (``--conversations``, model latency ``--model-seconds``):
  that many executions started at once, each making one model call and pausing, with
  ``--timers`` flows whose ``wait_for_response`` times out after 1 s started at the
  same moment: total wall, the most model calls the model server had in flight, and how
  late the timers fired.

Stdout carries only the JSON; progress goes to stderr. Recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench import agent_starts, cpuprofile, fixture, procs
from bench.agent_world import (
    TIMER_SECONDS,
    World,
    build_world,
    resume_agent,
    start_agent,
    start_timer,
    status_of,
)
from bench.procs import log
from bench.report import header
from bench.sqlcount import StatementCounter
from bench.workload import summary_ms
from threadline.config import Settings
from threadline.executions.keys import MODEL_CALL_TASK
from threadline.jobs.context import JobContext
from threadline.jobs.registry import Registry, registry
from threadline.jobs.worker import Worker
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources
from threadline.messaging.scopes import DELIVER_TASK
from threadline.models import FlowExecution
from threadline.tasks import load_tasks

MODEL = "default"
PROFILE_DIR = Path(__file__).resolve().parent / "results" / "profiles"
#: The timers (``agent_world.TIMER_SECONDS``) are started this long minus ``TIMER_LEAD``
#: before the load, so they fall due 1 s into it.
TIMER_LEAD = 1.0
#: Every answer asks the user something: each turn is one model call, then a pause.
ASKING_SCRIPT = {
    "default": {"tool_calls": [{"name": "AskUserForInput", "arguments": {"message": "And?"}}]}
}


class Turns:
    """Wraps the model-call task: counts calls in flight and signals each finished one."""

    def __init__(self) -> None:
        self.done: dict[str, asyncio.Event] = {}
        self.finished = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.last_done_at = 0.0

    def expect(self, execution_id: uuid.UUID) -> asyncio.Event:
        """An event set when ``execution_id``'s next model call job has ended."""
        event = self.done[str(execution_id)] = asyncio.Event()
        return event

    def wrap(self, handler: Callable[[JobContext], Awaitable[None]]) -> Any:
        async def wrapped(ctx: JobContext) -> None:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await handler(ctx)
            finally:
                self.in_flight -= 1
                self.finished += 1
                self.last_done_at = time.monotonic()
                event = self.done.pop(str(ctx.job.payload.get("execution_id")), None)
                if event is not None:
                    event.set()

        return wrapped


def bench_registry(turns: Turns) -> Registry:
    """Every task but the delivery, the model call wrapped by ``turns``."""
    tasks = Registry()
    for name in registry.names():
        if name == DELIVER_TASK:
            continue
        task = registry.get(name)
        if name == MODEL_CALL_TASK:
            task = dataclasses.replace(task, handler=turns.wrap(task.handler))
        tasks._tasks[name] = task  # a bench-only copy of the process registry
    # Commits wake the process registry's workers (jobs.queue): this worker is one of them.
    tasks._wakers = registry._wakers
    return tasks


async def control(model_url: str, path: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=model_url, timeout=30) as http:
        (await http.post(path, json=body)).raise_for_status()


async def received_at(model_url: str) -> list[datetime]:
    """When the model server received each call (its request log)."""
    async with httpx.AsyncClient(base_url=model_url, timeout=60) as http:
        data = (await http.get("/_control/requests", params={"limit": 1000})).json()["data"]
    return sorted(datetime.fromisoformat(entry["received_at"]) for entry in data)


def max_overlap(moments: list[datetime], seconds: float) -> int:
    """The most calls in flight at once when each lasts ``seconds`` (the server's latency)."""
    best, first = 0, 0
    for last, moment in enumerate(moments):
        while (moment - moments[first]).total_seconds() >= seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


async def turn_overhead(
    resources: Resources,
    world: World,
    turns: Turns,
    args: argparse.Namespace,
    counter: StatementCounter,
    reads: StatementCounter | None = None,
) -> dict[str, Any]:
    """Sequential turns of one conversation; CPU, wall and SQL per turn (``reads``: SQLite's
    read connections, apart), then a profile."""
    # Turns go round-robin over conversations of ``--turns-per-conversation`` turns: a
    # turn's cost grows with its transcript (the whole conversation goes to the model).
    count = max(1, args.turns // args.turns_per_conversation)
    ids = [
        await _first_turn(resources, world, turns, fixture.phone(i, "+1555")) for i in range(count)
    ]
    await _turn(resources, world, turns, ids[0])  # warm-up: caches, statements, the SDK
    pg = not resources.db.is_sqlite
    counter.take(1)  # from here on
    if reads is not None:
        reads.take(1)
    meter = procs.CpuMeter({}, include_postgres=pg).start()
    walls, cpu_before, started = [], time.process_time(), time.perf_counter()
    for index in range(args.turns):
        walls.append(await _turn(resources, world, turns, ids[index % count]))
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - started
    sql = counter.take(args.turns)
    machine = meter.stop(args.turns)
    result = {
        "turns": args.turns,
        "cpu_ms_per_turn": round(1000 * cpu / args.turns, 3),
        "wall_s": round(wall, 2),
        "turn_wall_ms": summary_ms(walls),
        "sql_per_turn": sql,
        "sqlite_reads_per_turn": reads.take(args.turns) if reads is not None else None,
        "postgres_cpu_ms_per_turn": (machine.get("postgres") or {}).get("cpu_ms_per_op")
        if pg
        else None,
        "conversations": count,
        "final_status": await status_of(resources, ids[0]),
    }
    result["where_the_cpu_goes"] = await _profiled(resources, world, turns, ids, args)
    return result


async def _first_turn(resources: Resources, world: World, turns: Turns, phone: str) -> uuid.UUID:
    execution_id = await start_agent(resources, world, phone)
    event = turns.expect(execution_id)
    await asyncio.wait_for(event.wait(), 60)
    return execution_id


async def _turn(resources: Resources, world: World, turns: Turns, execution_id: uuid.UUID) -> float:
    began = time.perf_counter()
    event = turns.expect(execution_id)
    await resume_agent(resources, world, execution_id)
    await asyncio.wait_for(event.wait(), 60)
    return time.perf_counter() - began


async def _profiled(
    resources: Resources,
    world: World,
    turns: Turns,
    ids: list[uuid.UUID],
    args: argparse.Namespace,
) -> dict[str, Any]:
    out = PROFILE_DIR
    profiler = cpuprofile.Profiler(enabled=True, out_dir=out, prefix="agents")
    count = max(20, args.turns // 2)  # the conversations' next turns, as measured above
    async with profiler.record("agent-turns", {"bench": os.getpid()}):
        for index in range(count):
            await _turn(resources, world, turns, ids[index % len(ids)])
    summary = profiler.summaries.get("agent-turns", {}).get("bench", {})
    return {"turns_profiled": count, **summary}


async def concurrent(
    resources: Resources, world: World, turns: Turns, args: argparse.Namespace, model_url: str
) -> dict[str, Any]:
    """``--conversations`` executions started at once, ``--timers`` 1 s timers beside."""
    await control(model_url, "/_control/latency", {"seconds": args.model_seconds})
    await control(model_url, "/_control/reset", {})
    await control(model_url, f"/_control/scripts/{MODEL}", ASKING_SCRIPT)
    await control(model_url, "/_control/latency", {"seconds": args.model_seconds})
    finished_before = turns.finished
    timer_ids = [
        await start_timer(resources, world, fixture.phone(i, "+1556")) for i in range(args.timers)
    ]
    await asyncio.sleep(TIMER_SECONDS - TIMER_LEAD)
    started = time.monotonic()
    starts = [
        start_agent(resources, world, fixture.phone(i, "+1557")) for i in range(args.conversations)
    ]
    agent_ids = await asyncio.gather(*starts)
    started_all = time.monotonic() - started
    paused = await _until_paused(resources, agent_ids, started + args.timeout)
    wall = time.monotonic() - started
    moments = await received_at(model_url)
    statuses = [await status_of(resources, i) for i in agent_ids[:: max(1, len(agent_ids) // 50)]]
    lags = await _timer_lags(resources, timer_ids)
    return {
        "conversations": len(agent_ids),
        "model_seconds_per_call": args.model_seconds,
        "worker_model_concurrency": resources.settings.worker_model_concurrency,
        "starts_committed_s": round(started_all, 2),
        "paused": paused,
        "model_call_job_runs": turns.finished - finished_before,
        "wall_s_first_start_to_last_pause": round(wall, 2),
        "ideal_wall_s": args.model_seconds,
        "max_model_calls_in_flight_at_model_server": max_overlap(moments, args.model_seconds),
        "max_model_call_jobs_running_in_worker": turns.max_in_flight,
        "model_server_requests": len(moments),
        "sampled_statuses": sorted(set(statuses)),
        "timers": {
            "count": len(timer_ids),
            "timeout_s": TIMER_SECONDS,
            "due_s_after_load_start": TIMER_LEAD,
            "lag_ms": summary_ms(lags),
        },
    }


async def _until_paused(resources: Resources, ids: list[uuid.UUID], deadline: float) -> int:
    """Poll (every 0.25 s) until every execution waits again; how many do."""
    paused = 0
    while time.monotonic() < deadline:
        async with resources.db.read() as session:
            query = select(func.count()).where(
                FlowExecution.id.in_(ids), FlowExecution.status == "waiting"
            )
            paused = int((await session.execute(query)).scalar_one())
        if paused >= len(ids):
            break
        await asyncio.sleep(0.25)
    return paused


async def _timer_lags(resources: Resources, ids: list[uuid.UUID]) -> list[float]:
    """How late after ``started_at + TIMER_SECONDS`` each timer flow ended (on its timeout)."""
    deadline = time.monotonic() + 30
    lags: list[float] = []
    while time.monotonic() < deadline:
        async with resources.db.read() as session:
            query = select(FlowExecution.started_at, FlowExecution.ended_at)
            rows = (await session.execute(query.where(FlowExecution.id.in_(ids)))).all()
        lags = [(ended - began).total_seconds() - TIMER_SECONDS for began, ended in rows if ended]
        if len(lags) == len(ids):
            return lags
        await asyncio.sleep(0.2)
    return lags


def bench_settings(url: str, workdir: Path, model_url: str, args: argparse.Namespace) -> Settings:
    return Settings(
        database_url=url,
        data_dir=workdir,
        secret_key=fixture.new_secret_key(),
        embedded_worker=False,
        sandbox_enabled=False,
        model_server_url=model_url,
        worker_model_concurrency=args.model_concurrency,
        unknown_task_grace_seconds=86_400,
        log_level="warning",
    )


async def run_backend(
    name: str, args: argparse.Namespace, workdir: Path, model_url: str
) -> dict[str, Any]:
    """Both benchmarks on one database, the worker running in this process."""
    url = await fixture.fresh_postgres() if name == "postgresql" else fixture.sqlite_url(workdir)
    await upgrade_async(url)
    resources = Resources.create(bench_settings(url, workdir, model_url, args))
    turns = Turns()
    # Listening before the worker runs: a listener added while a transaction begins
    # (another task's, between its awaits) breaks SQLAlchemy's iteration of them.
    counter = StatementCounter(resources.db.engine, resources.db.priority_engine)
    # SQLite's reads (the worker's due-jobs probes among them) run on engines of their own.
    reads = StatementCounter(resources.db.read_engine) if resources.db.is_sqlite else None
    result: dict[str, Any] = {}
    world = await build_world(resources)
    if args.starts:  # before the worker runs: no turn in the way
        log(f"{name}: {args.starts} sequential starts")
        started = await agent_starts.start_overhead(resources, world, args.starts, counter, reads)
        result["start_overhead"] = started
        log(f"{name}: {started['cpu_ms_per_start']} ms CPU/start")
    worker = Worker(resources, tasks=bench_registry(turns))
    running = asyncio.create_task(worker.run())
    try:
        await control(model_url, "/_control/reset", {})
        await control(model_url, f"/_control/scripts/{MODEL}", ASKING_SCRIPT)
        if args.turns:
            log(f"{name}: {args.turns} sequential turns")
            result["turn_overhead"] = await turn_overhead(
                resources, world, turns, args, counter, reads
            )
            log(f"{name}: {result['turn_overhead']['cpu_ms_per_turn']} ms CPU/turn")
        if args.conversations:
            log(f"{name}: {args.conversations} conversations at once, {args.model_seconds}s/call")
            result["concurrent"] = await concurrent(resources, world, turns, args, model_url)
            log(f"{name}: {result['concurrent']['wall_s_first_start_to_last_pause']} s wall")
    finally:
        worker.stop()
        await asyncio.wait_for(running, 60)
        await resources.close()
        if name == "postgresql":
            await fixture.drop_postgres()
    return result


def start_model_server(workdir: Path) -> procs.Child:
    """``threadline model-server`` as its own process."""
    port = procs.free_port()
    argv = [str(procs.VENV_BIN / "threadline"), "model-server", "--port", str(port)]
    return procs.spawn(
        "model-server", argv, env=dict(os.environ), log_dir=workdir, url=f"http://127.0.0.1:{port}"
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_tasks()
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-agents-"))
    report = header(
        "threadline: agent turns against the local model server", "bench.agents", vars(args)
    )
    server = start_model_server(workdir)
    try:
        await server.wait_ready("/_control/health")
        for name in args.backend:
            backend_dir = workdir / name
            backend_dir.mkdir()
            try:
                report["backends"][name] = await run_backend(name, args, backend_dir, server.url)
            except Exception as error:  # keep the other backend's numbers
                log(f"{name} failed: {type(error).__name__}: {error}")
                report["backends"][name] = {"error": f"{type(error).__name__}: {error}"}
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.agents", description=__doc__)
    parser.add_argument(
        "--backend", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="the PostgreSQL server (its admin database), adds the postgresql backend",
    )
    parser.add_argument("--starts", type=int, default=300, help="sequential starts (0: skip)")
    parser.add_argument("--turns", type=int, default=500, help="sequential turns (0: skip)")
    parser.add_argument(
        "--turns-per-conversation", type=int, default=10, help="turns of each conversation"
    )
    parser.add_argument("--conversations", type=int, default=1000, help="started at once (0: skip)")
    parser.add_argument(
        "--model-seconds", type=float, default=2.0, help="model latency of the concurrent run"
    )
    parser.add_argument(
        "--model-concurrency",
        type=int,
        default=1000,
        help="THREADLINE_WORKER_MODEL_CONCURRENCY of the worker",
    )
    parser.add_argument(
        "--timers", type=int, default=10, help="10 s wait timers falling due 1 s into the load"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="of the concurrent run, in seconds"
    )
    parser.add_argument(
        "--pg-database", default="threadline_bench_agents", help="the database the run (re)creates"
    )
    args = parser.parse_args(argv)
    fixture.use_database(args.pg_database)
    if args.postgres:
        fixture.PG_ADMIN_DSN = args.postgres.replace("+asyncpg", "")
        base = args.postgres.rsplit("/", 1)[0]
        fixture.PG_URL = f"{base}/{args.pg_database}".replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        if "postgresql" not in args.backend:
            args.backend.append("postgresql")
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args(sys.argv[1:]))), indent=2, default=str))
