"""``python -m bench``: Threadline's throughput, latency, storage and memory, as one JSON object.

Stdout carries only the JSON (also saved to bench/results/); progress goes to stderr.
What each number means and how it is measured: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

import threadline
from bench import fixture, procs, seed, storage, workload
from bench.procs import CpuMeter, RssSampler, log
from bench.sqlcount import StatementCounter
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.models import FlowExecution
from threadline.tasks import load_tasks

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Resume-cost growth still called "no growth" (run-to-run noise here is ~10-20 %).
GROWTH_TOLERANCE = 1.25


@dataclass(frozen=True)
class Params:
    """What one run does; ``--quick`` shrinks everything."""

    mode: str
    executions: int  # real executions started and kept waiting (the "1,000 waiting")
    cycle_executions: int  # how many of them each throughput measurement resumes
    warmup: int  # resumes before each throughput measurement
    big_waiting: int  # executions waiting at the second resume-cost measurement
    latency_seconds: float  # length of each open-loop latency run
    start_concurrency: int
    inprocess_concurrency: int
    http_concurrency: int
    split_workers: int  # PostgreSQL: API + 1..N `threadline worker` processes (0: no split)
    worker_env: tuple[str, ...]  # extra KEY=VALUE for those worker processes (diagnostics)
    worker_uvloop: bool  # run those worker processes on uvloop (diagnostics)
    analyze: bool  # PostgreSQL: ANALYZE before each measured phase
    pg_plan_cache_mode: str

    @classmethod
    def of(cls, args: argparse.Namespace) -> Params:
        quick = args.quick
        executions = args.executions or (200 if quick else 1000)
        return cls(
            mode="quick" if quick else "full",
            executions=executions,
            cycle_executions=min(executions, args.cycle_executions or (200 if quick else 1000)),
            warmup=30 if quick else 100,
            big_waiting=args.big_waiting or (10_000 if quick else 100_000),
            latency_seconds=4.0 if quick else 10.0,
            start_concurrency=16,
            inprocess_concurrency=args.concurrency,
            http_concurrency=args.concurrency,
            split_workers=args.split_workers,
            worker_env=tuple(args.worker_env),
            worker_uvloop=args.worker_uvloop,
            analyze=not args.no_analyze,
            pg_plan_cache_mode=args.pg_plan_cache_mode,
        )


def _timeout(count: int) -> float:
    # Generous (a cycle costs ~15-40 ms of CPU here); the bound only stops a hung run.
    return 60.0 + count * 0.25


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(b / a, 3) if a and b is not None else None


class BackendRun:
    """Every measurement on one backend, in order, on one database."""

    def __init__(self, name: str, params: Params, sandbox: procs.Child, workdir: Path) -> None:
        self.name = name
        self.p = params
        self.sandbox_child = sandbox
        self.sandbox = workload.Sandbox(sandbox.url)
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.result: dict[str, Any] = {}
        self.server: procs.Child | None = None
        self.round = 0
        self._phone_of: dict[uuid.UUID, str] | None = None

    # Helpers ----------------------------------------------------------------------------

    def _next_round(self) -> int:
        self.round += 1
        return self.round

    async def _sessions(self) -> int | None:
        """Connections PostgreSQL has opened to the bench database so far."""
        if self.name != "postgresql":
            return None
        async with self.resources.db.engine.connect() as conn:
            statement = text(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            )
            return int((await conn.execute(statement)).scalar_one())

    async def _phase(self, servers: dict[str, int] | None = None) -> tuple[CpuMeter, int | None]:
        pids = {"bench_process": os.getpid(), "sandbox": self.sandbox_child.pid} | (servers or {})
        sessions = await self._sessions()
        return CpuMeter(pids, include_postgres=self.name == "postgresql").start(), sessions

    async def _phase_end(
        self, phase: tuple[CpuMeter, int | None], operations: int
    ) -> dict[str, Any]:
        meter, sessions = phase
        report = meter.stop(operations)
        if sessions is not None:
            opened = (await self._sessions() or 0) - sessions - 1  # minus this query's own
            # Approximate: pg_stat_database is flushed with a delay of up to a second.
            report["postgres_connections_opened"] = max(0, opened)
        return report

    async def _connections(self) -> dict[str, int] | None:
        """PostgreSQL: connections open now, to the bench database and to the whole server.

        Pools keep their connections (no overflow), so at the end of a phase this is what
        the processes under test hold, plus this query's own.
        """
        if self.name != "postgresql":
            return None
        async with self.resources.db.engine.connect() as conn:
            statement = text(
                "SELECT count(*) FILTER (WHERE datname = current_database()), "
                "count(*) FILTER (WHERE backend_type = 'client backend'), "
                "current_setting('max_connections')::int FROM pg_stat_activity"
            )
            bench_db, server, most = (await conn.execute(statement)).one()
        return {"bench_database": bench_db, "server_clients": server, "max_connections": most}

    async def _release_pool(self) -> None:
        """Close the bench process's idle pooled connections before other processes run.

        The in-process phase leaves up to 40 (worker_concurrency + api_connections) open,
        which would count against PostgreSQL's max_connections (100 by default) while the
        API and worker processes open theirs.
        """
        await self.resources.db.engine.dispose()

    async def _analyze(self) -> None:
        """PostgreSQL: fresh planner statistics before a measured phase.

        Autovacuum's autoanalyze would refresh them within a minute or so; without this the
        job-claim plan depends on when it last ran (docs/benchmarks.md, "stale statistics").
        """
        if self.name == "postgresql" and self.p.analyze:
            async with self.resources.db.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))

    async def _waiting_total(self) -> int:
        async with self.resources.db.session() as session:
            statement = (
                select(func.count())
                .select_from(FlowExecution)
                .where(FlowExecution.status == "waiting")
            )
            return int((await session.execute(statement)).scalar_one())

    async def _phones(self) -> dict[uuid.UUID, str]:
        """The phone number's digits of each real execution (how the sandbox names it)."""
        if self._phone_of is None:
            async with self.resources.db.session() as session:
                rows = await session.execute(
                    select(FlowExecution.id, FlowExecution.phone_number).where(
                        FlowExecution.phone_number.like("+1555%")
                    )
                )
                self._phone_of = {id_: phone.lstrip("+") for id_, phone in rows}
        return self._phone_of

    async def _seeded_sample(self, count: int) -> list[uuid.UUID]:
        async with self.resources.db.session() as session:
            rows = await session.execute(
                select(FlowExecution.id)
                .where(FlowExecution.phone_number.like(seed.SEED_PHONE_PREFIX + "%"))
                .limit(count)
            )
            return list(rows.scalars())

    async def _cycles(
        self, resumer: workload.Resumer, ids: list[uuid.UUID], concurrency: int, what: str
    ) -> dict[str, Any]:
        return await workload.full_cycles(
            resumer,
            self.sandbox,
            ids,
            rounds=1,
            concurrency=concurrency,
            first_round=self._next_round(),
            timeout=_timeout(len(ids)),
            what=what,
        )

    # The run ----------------------------------------------------------------------------

    async def run(self, keep: bool) -> dict[str, Any]:
        if self.name == "postgresql":
            reason = await fixture.postgres_reachable()
            if reason is not None:
                log(f"postgresql skipped: {reason}")
                return {"skipped": reason}
            self.url = await fixture.fresh_postgres(self.p.pg_plan_cache_mode)
        else:
            self.url = fixture.sqlite_url(self.workdir)
        self.key = fixture.new_secret_key()
        self.resources = Resources.create(fixture.settings_for(self.url, self.workdir, self.key))
        try:
            await self._run()
        finally:
            if self.server is not None:
                self.server.stop()
            await self.resources.close()
            await self.sandbox.close()
            if self.name == "postgresql" and not keep:
                with contextlib.suppress(Exception):
                    await fixture.drop_postgres()
        return self.result

    async def _run(self) -> None:
        p, r, resources = self.p, self.result, self.resources
        log(f"{self.name}: migrating, creating the project and the flow")
        self.world = world = await fixture.build_world(self.url, resources, self.sandbox_child.url)
        counter = StatementCounter(resources.db.engine)
        if self.name == "postgresql":
            async with resources.db.engine.connect() as conn:
                for setting in ("server_version", "plan_cache_mode", "synchronous_commit"):
                    r[setting] = (await conn.execute(text(f"SHOW {setting}"))).scalar_one()
        size_empty = await storage.sizes(resources)

        # 1. Starts: service layer, no worker running ----------------------------------------
        log(f"{self.name}: starting {p.executions} executions")
        counter.take(1)
        phase = await self._phase()
        ids, elapsed, latencies = await workload.start_many(
            resources, world, range(p.executions), p.start_concurrency
        )
        r["starts_per_second"] = {
            "value": round(p.executions / elapsed, 1),
            "via": "executions.service.start inside resources.db.transaction(), one transaction "
            f"per execution, {p.start_concurrency} concurrent, in the bench process (no HTTP), "
            "no worker running",
            "executions": p.executions,
            "elapsed_s": round(elapsed, 3),
            "call_latency_ms": workload.summary_ms(latencies),
            "sql_per_start": counter.take(p.executions),
            "cpu": await self._phase_end(phase, p.executions),
        }
        log(f"{self.name}: {r['starts_per_second']['value']} starts/s")
        self._ids = ids
        # The template of the seeded executions: started, first message sent, never resumed.
        template_ids, _, _ = await workload.start_many(resources, world, [0], 1, prefix="+1999")
        template, template_phone = template_ids[0], fixture.phone(0, "+1999")

        # 2. The first messages go out, then in-process resume cycles -------------------------
        worker = Worker(resources)
        base = await self.sandbox.outbox_count()
        worker_task = asyncio.create_task(worker.run())
        try:
            began = time.perf_counter()
            count = p.executions + 1
            done = await self.sandbox.wait_for(
                base + count, timeout=_timeout(count), what="first sends"
            )
            r["first_deliveries_per_second"] = round(count / (done - began), 1)
            await asyncio.sleep(0.5)  # the last deliver jobs delete themselves
            size_started = await storage.sizes(resources)
            r["storage_bytes_per_waiting_execution"] = {
                "started_executions": storage.per_execution(size_empty, size_started, count)
            }
            await self._inprocess(counter)
            await asyncio.sleep(0.5)
            size_cycled = await storage.sizes(resources)
            cycled = r["resumes_per_second_inprocess"]["cycles"] + p.warmup
            growth = storage.per_execution(size_started, size_cycled, cycled)
            r["storage_bytes_per_resume_cycle"] = {
                "bytes_per_cycle": growth.get("bytes_per_execution"),
                "by_table": growth.get("by_table"),
                "cycles": cycled,
                "note": "each cycle appends 7 event rows and 1 outbox row; nothing is pruned",
            }
        finally:
            worker.stop()
            await worker_task

        # 3. Over HTTP, the API and `threadline worker` processes apart ------------------------
        await self._split(ids)

        # 4. Over HTTP: `threadline serve` (API + embedded worker) as a subprocess -----------
        await self._http(ids, template, template_phone)

    async def _inprocess(self, counter: StatementCounter) -> None:
        p, r = self.p, self.result
        ids = self._cycle_ids
        log(f"{self.name}: in-process resume cycles")
        warm = workload.InProcessResumer(resources=self.resources, world=self.world)
        await self._cycles(warm, ids[: p.warmup], p.inprocess_concurrency, "in-process warm-up")
        await self._analyze()
        counter.take(1)
        phase = await self._phase()
        resumer = workload.InProcessResumer(resources=self.resources, world=self.world)
        cycles = await self._cycles(resumer, ids, p.inprocess_concurrency, "in-process")
        cycles["sql_per_cycle"] = counter.take(cycles["cycles"])
        cycles["cpu"] = await self._phase_end(phase, cycles["cycles"])
        await asyncio.sleep(0.3)
        cycles["check"] = await workload.queue_state(self.resources, ids)
        r["resumes_per_second_inprocess"] = {
            "value": cycles["per_second"],
            "via": "executions.service.resume inside resources.db.transaction() (no HTTP), "
            f"{p.inprocess_concurrency} concurrent, plus a threadline Worker task in the same "
            "process (asyncio loop) running executions.advance and messaging.deliver; the "
            "sandbox is its own process",
            **cycles,
        }

    @property
    def _cycle_ids(self) -> list[uuid.UUID]:
        return self._ids[: self.p.cycle_executions]

    async def _http(self, ids: list[uuid.UUID], template: uuid.UUID, template_phone: str) -> None:
        p, r, resources = self.p, self.result, self.resources
        await self._release_pool()
        log(f"{self.name}: starting the server")
        self.server = procs.start_server(
            self.workdir, database_url=self.url, secret_key=self.key, data_dir=self.workdir / "srv"
        )
        await self.server.wait_ready("/health")
        rss = RssSampler(self.server.pid).start()
        client = workload.http_client(self.server.url, p.http_concurrency)
        try:
            warm = workload.HttpResumer(client=client, api_key=self.world.api_key)
            await self._cycles(warm, ids[: p.warmup], p.http_concurrency, "http warm-up")
            servers = {"server": self.server.pid}
            small = await self._http_level(
                self.server, client, ids, rate=None, label="http", servers=servers
            )
            r["resumes_per_second_http"] = {
                "value": small["throughput"]["per_second"],
                "via": "POST /api/v1/flow_executions/{id}/resume over HTTP/1.1 keep-alive "
                f"(httpx, {p.http_concurrency} connections, closed loop) to `threadline serve` "
                "(uvicorn, uvloop + httptools, API and embedded worker in one process); the "
                "sandbox is its own process",
                **small["throughput"],
            }
            r["resume_latency_ms"] = small["latency"]
            waiting_small = await self._waiting_total()

            # 5. Resume cost with many more executions waiting -----------------------------
            log(f"{self.name}: seeding up to {p.big_waiting} waiting executions")
            size_before = await storage.sizes(resources)
            seeding = await seed.seed(
                resources, template, template_phone, p.big_waiting - waiting_small
            )
            size_after = await storage.sizes(resources)
            r["storage_bytes_per_waiting_execution"]["seeded_executions"] = storage.per_execution(
                size_before, size_after, seeding["count"]
            )
            seeding["verification"] = await seed.verify(
                resources, template, template_phone, uuid.UUID(seeding["sample_seeded_id"])
            )
            sample = await self._seeded_sample(20)
            probe = workload.HttpResumer(client=client, api_key=self.world.api_key)
            await self._cycles(probe, sample, 4, "seeded probe")
            seeding["seeded_executions_resumed_and_replied"] = len(sample)
            r["seeding"] = seeding
            waiting_big = await self._waiting_total()
            rate = small["latency"]["target_rate_per_s"]
            big = await self._http_level(
                self.server, client, ids, rate=rate, label="http@big", servers=servers
            )
            r["resume_cost_vs_waiting"] = _cost(waiting_small, small, waiting_big, big)
        finally:
            await rss.stop()
            memory = procs.memory_kb(self.server.pid)
            await client.aclose()
            r["server_rss_mb_under_load"] = {
                "value": round(max(rss.peak_kb, memory.get("VmHWM", 0)) / 1024, 1),
                "peak_sampled_vmrss_mb": round(rss.peak_kb / 1024, 1),
                "vmhwm_mb": round(memory.get("VmHWM", 0) / 1024, 1),
                "source": "/proc/<server pid>/status: VmRSS sampled every 0.25 s during the "
                "HTTP phases, and VmHWM at their end",
            }
            self.server.stop()
            r["server_log_tail"] = self.server.tail(5)
            self.server = None

    async def _http_level(
        self,
        server: procs.Child,
        client: httpx.AsyncClient,
        ids: list[uuid.UUID],
        *,
        rate: float | None,
        label: str,
        servers: dict[str, int],
    ) -> dict[str, Any]:
        """Peak closed-loop cycles, then open-loop resume latency at ``rate`` (or half the peak).

        ``servers`` names the processes serving the load, whose CPU is reported.
        """
        p = self.p
        await self._analyze()
        phase = await self._phase(servers)
        resumer = workload.HttpResumer(client=client, api_key=self.world.api_key)
        throughput = await self._cycles(resumer, self._cycle_ids, p.http_concurrency, label)
        throughput["cpu"] = await self._phase_end(phase, throughput["cycles"])
        if (connections := await self._connections()) is not None:
            throughput["postgres_connections_held"] = connections
        rate = rate or throughput["per_second"] / 2
        latency = await self._open_loop(server, ids, rate=rate, label=label)
        return {"throughput": throughput, "latency": latency}

    async def _open_loop(
        self,
        server: procs.Child,
        ids: list[uuid.UUID],
        *,
        rate: float,
        label: str,
        replies: bool = True,
    ) -> dict[str, Any]:
        """Open-loop resumes at ``rate`` for ``latency_seconds``; with ``replies``, also wait
        for every reply and time it (``reply_latency_ms``)."""
        count = max(20, min(len(ids), int(rate * self.p.latency_seconds)))
        log(f"{label}: open-loop latency, {count} resumes at {rate:.1f}/s")
        open_client = workload.http_client(server.url, 1024)
        round_no = self._next_round()
        scheduled: dict[uuid.UUID, float] = {}
        try:
            base = await self.sandbox.outbox_count()
            sender = workload.HttpResumer(client=open_client, api_key=self.world.api_key)
            latency = await workload.open_loop(
                sender, ids[:count], rate=rate, round_no=round_no, scheduled_wall=scheduled
            )
            if replies:
                await self.sandbox.wait_for(
                    base + count, timeout=_timeout(count), what=f"{label} latency tail"
                )
        finally:
            await open_client.aclose()
        if replies:
            phones = await self._phones()
            by_phone = {phones[id_]: at for id_, at in scheduled.items() if id_ in phones}
            latency["reply_latency_ms"] = await self.sandbox.reply_latencies(
                by_phone, f"got r{round_no}", since=min(scheduled.values())
            )
            latency["reply_latency_note"] = (
                "from the resume's scheduled send to its reply's arrival in the sandbox outbox "
                "(resume + advance job + deliver job)"
            )
        reply = latency.get("reply_latency_ms", {}).get("p50")
        log(
            f"{label}: latency p50 {latency['latency_ms']['p50']} ms, "
            f"p99 {latency['latency_ms']['p99']} ms; reply p50 {reply} ms"
        )
        return latency

    def _split_levels(self) -> list[int]:
        """How many worker processes to run beside the API: 1..N on PostgreSQL, 1 on SQLite."""
        most = self.p.split_workers
        return list(range(1, (most if self.name == "postgresql" else min(most, 1)) + 1))

    def _start_worker(self, name: str) -> procs.Child:
        return procs.start_worker(
            self.workdir,
            database_url=self.url,
            secret_key=self.key,
            data_dir=self.workdir / "srv-worker",
            name=name,
            extra_env=dict(item.split("=", 1) for item in self.p.worker_env),
            uvloop=self.p.worker_uvloop,
        )

    async def _split(self, ids: list[uuid.UUID]) -> None:
        """`threadline serve` with THREADLINE_EMBEDDED_WORKER=false plus `threadline worker`s.

        One API process for every level; each level adds a worker process, warms up, then
        measures as ``_http_level`` does. Keys: ``resumes_per_second_http_split`` and
        ``resume_latency_ms_split`` (1 worker), ``..._split_<n>_workers`` beyond. After the
        first level, ``resume_latency_ms_api_alone``: the same open loop with no worker
        running (the request path on its own); the worker then catches up.
        """
        levels = self._split_levels()
        if not levels:
            return
        p, r = self.p, self.result
        await self._release_pool()
        log(f"{self.name}: split: API process + {levels} worker process(es)")
        api = procs.start_server(
            self.workdir,
            database_url=self.url,
            secret_key=self.key,
            data_dir=self.workdir / "srv-api",
            name="api",
            extra_env={"THREADLINE_EMBEDDED_WORKER": "false"},
        )
        workers: list[procs.Child] = []
        client = workload.http_client(api.url, p.http_concurrency)
        try:
            await api.wait_ready("/health")
            for count in levels:
                while len(workers) < count:
                    workers.append(self._start_worker(f"worker_{len(workers) + 1}"))
                label = f"split {count}w"
                warm = workload.HttpResumer(client=client, api_key=self.world.api_key)
                await self._cycles(warm, ids[: p.warmup], p.http_concurrency, f"{label} warm-up")
                for child in (api, *workers):
                    child.check_alive()
                servers = {"api": api.pid} | {w.name: w.pid for w in workers}
                level = await self._http_level(
                    api, client, ids, rate=None, label=label, servers=servers
                )
                await asyncio.sleep(0.3)
                level["throughput"]["check"] = await workload.queue_state(
                    self.resources, self._cycle_ids
                )
                level["throughput"]["memory_mb"] = {
                    name: round(procs.memory_kb(pid).get("VmHWM", 0) / 1024, 1)
                    for name, pid in servers.items()
                }
                suffix = "" if count == 1 else f"_{count}_workers"
                r[f"resumes_per_second_http_split{suffix}"] = {
                    "value": level["throughput"]["per_second"],
                    "via": "as resumes_per_second_http, but to `threadline serve` with "
                    f"THREADLINE_EMBEDDED_WORKER=false plus {count} separate `threadline "
                    "worker` process(es), same database URL and secret key; memory_mb is "
                    "each process's VmHWM",
                    "worker_processes": count,
                    **level["throughput"],
                }
                r[f"resume_latency_ms_split{suffix}"] = level["latency"]
                if count == 1:
                    rate = level["latency"]["target_rate_per_s"]
                    workers = await self._api_alone(api, ids, rate, workers)
        finally:
            await client.aclose()
            for child in (*workers, api):
                child.stop()
            r["split_log_tail"] = {c.name: c.tail(5) for c in (api, *workers) if c.tail(5)}

    async def _api_alone(
        self, api: procs.Child, ids: list[uuid.UUID], rate: float, workers: list[procs.Child]
    ) -> list[procs.Child]:
        """The split's open loop with every worker stopped, then a fresh worker catches up.

        The resumes only enqueue their advance jobs, so this is the API's request path
        with nothing else of Threadline's running; its CPU per request is ``cpu``.
        """
        for worker in workers:
            worker.stop()
        await self._analyze()
        base = await self.sandbox.outbox_count()
        phase = await self._phase({"api": api.pid})
        latency = await self._open_loop(api, ids, rate=rate, label="api alone", replies=False)
        latency["cpu"] = await self._phase_end(phase, latency["requests"])
        latency["note"] = (
            "the split's API process with no worker running, at the split's half-peak rate: "
            "the resume request on its own"
        )
        self.result["resume_latency_ms_api_alone"] = latency
        restarted = [self._start_worker(worker.name) for worker in workers]
        await self.sandbox.wait_for(
            base + latency["requests"], timeout=_timeout(latency["requests"]), what="catch-up"
        )
        return restarted


def _cost(
    waiting_small: int, small: dict[str, Any], waiting_big: int, big: dict[str, Any]
) -> dict[str, Any]:
    small_p50 = small["latency"]["latency_ms"]["p50"]
    big_p50 = big["latency"]["latency_ms"]["p50"]
    small_rate = small["throughput"]["per_second"]
    big_rate = big["throughput"]["per_second"]
    return {
        "measured_over": "HTTP, same server process, same executions resumed; p50 is the "
        "resume call at the same open-loop rate at both levels; resumes/s is the full cycle",
        "small": {
            "waiting": waiting_small,
            "resume_p50_ms": small_p50,
            "resumes_per_second": small_rate,
        },
        "big": {
            "waiting": waiting_big,
            "resume_p50_ms": big_p50,
            "resumes_per_second": big_rate,
            "latency": big["latency"],
            "throughput": big["throughput"],
        },
        "p50_ratio_big_over_small": _ratio(small_p50, big_p50),
        "throughput_ratio_big_over_small": _ratio(small_rate, big_rate),
    }


# Report -----------------------------------------------------------------------------------


def _source() -> dict[str, Any]:
    """Which tree was measured: the commit, and whether src/ had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    info: dict[str, Any] = {"threadline_imported_from": str(Path(threadline.__file__).parent)}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        info |= {"commit": commit, "src_uncommitted_changes": bool(dirty)}
    return info


def _machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with contextlib.suppress(OSError, IndexError, ValueError):
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    versions = {}
    packages = ("sqlalchemy", "asyncpg", "aiosqlite", "fastapi", "uvicorn", "httpx", "uvloop")
    for package in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "bench_event_loop": "asyncio default loop (as `threadline worker` runs)",
        "server_event_loop": "uvloop + httptools (uvicorn's defaults, as `threadline serve` runs)",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _target(name: str, backend: str, measured: Any, goal: str, ok: bool | None) -> dict[str, Any]:
    return {"target": name, "backend": backend, "goal": goal, "measured": measured, "pass": ok}


def _targets(backends: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name, r in backends.items():
        if "skipped" in r or "error" in r:
            out.append(_target("all", name, None, "a completed run", None))
            continue
        inproc = r["resumes_per_second_inprocess"]["value"]
        out.append(_target("resumes_per_second_inprocess", name, inproc, ">= 1000", inproc >= 1000))
        http = r["resumes_per_second_http"]["value"]
        out.append(_target("resumes_per_second_http", name, http, ">= 350", http >= 350))
        latency = r["resume_latency_ms"]["latency_ms"]
        p50, p99 = latency["p50"], latency["p99"]
        out.append(_target("resume_latency_p50_ms_at_half_peak", name, p50, "< 5", p50 < 5))
        out.append(_target("resume_latency_p99_ms_at_half_peak", name, p99, "< 20", p99 < 20))
        for key in sorted(k for k in r if k.startswith("resumes_per_second_http_split")):
            # The same HTTP targets, with the API and the worker(s) in separate processes.
            suffix = key.removeprefix("resumes_per_second_http")
            split = r[key]["value"]
            out.append(_target(key, name, split, ">= 350", split >= 350))
            latency = r[f"resume_latency_ms{suffix}"]["latency_ms"]
            p50, p99 = latency["p50"], latency["p99"]
            out.append(_target(f"resume_latency_p50_ms{suffix}", name, p50, "< 5", p50 < 5))
            out.append(_target(f"resume_latency_p99_ms{suffix}", name, p99, "< 20", p99 < 20))
        cost = r["resume_cost_vs_waiting"]
        p50_ratio = cost["p50_ratio_big_over_small"]
        rate_ratio = cost["throughput_ratio_big_over_small"]
        flat = p50_ratio <= GROWTH_TOLERANCE and rate_ratio >= 1 / GROWTH_TOLERANCE
        out.append(
            _target(
                "no_resume_cost_growth_with_waiting",
                name,
                {
                    "p50_ratio": p50_ratio,
                    "throughput_ratio": rate_ratio,
                    "waiting": [cost["small"]["waiting"], cost["big"]["waiting"]],
                },
                f"p50 ratio <= {GROWTH_TOLERANCE} and throughput ratio >= "
                f"{round(1 / GROWTH_TOLERANCE, 2)}",
                flat,
            )
        )
        sizes = r["storage_bytes_per_waiting_execution"]
        started = sizes["started_executions"]["bytes_per_execution"]
        seeded = sizes["seeded_executions"]["bytes_per_execution"]
        out.append(
            _target(
                "storage_bytes_per_waiting_execution",
                name,
                {"started_executions": started, "seeded_executions": seeded},
                "< 3072 for both measurements",
                max(started, seeded) < 3072,
            )
        )
        rss = r["server_rss_mb_under_load"]["value"]
        out.append(_target("server_rss_mb_under_load", name, rss, "< 200", rss < 200))
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    params = Params.of(args)
    load_tasks()
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "threadline: execution starts and resume cycles",
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "mode": params.mode,
        "source": _source(),
        "machine": _machine(),
        "parameters": {
            **{k: v for k, v in asdict(params).items() if k != "mode"},
            "worker_concurrency": 16,
            "wait_timeout_seconds": fixture.WAIT_TIMEOUT_SECONDS,
            "flow": "start -> send_text 'hi' -> wait_for_response (saves x) -> send_text "
            "'got {{vars.x}}' -> back to the same wait",
            "cycle": "resume + executions.advance job + messaging.deliver job (Graph send to "
            "the sandbox over HTTP) + the execution waiting again with its reply in the "
            "sandbox outbox",
        },
        "backends": {},
    }
    log(f"workdir {workdir}; mode {params.mode}")
    sandbox = procs.start_sandbox(workdir)
    try:
        await sandbox.wait_ready("/_sandbox/health")
        report["sandbox"] = {"process": "separate: `threadline sandbox` (uvicorn)"}
        for name in args.backend:
            run = BackendRun(name, params, sandbox, workdir)
            try:
                report["backends"][name] = await run.run(args.keep)
            except Exception as error:  # keep the other backend's numbers
                log(f"{name} failed: {type(error).__name__}: {error}")
                report["backends"][name] = {
                    "error": f"{type(error).__name__}: {error}",
                    "partial": run.result,
                }
    finally:
        sandbox.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["targets"] = _targets(report["backends"])
    report["duration_s"] = round(time.perf_counter() - started, 1)
    return report


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run (~1 min)")
    parser.add_argument(
        "--backend",
        action="append",
        choices=["sqlite", "postgresql"],
        help="only this backend (repeatable; default: both)",
    )
    parser.add_argument("--executions", type=int, default=0, help="executions kept waiting")
    parser.add_argument(
        "--cycle-executions", type=int, default=0, help="executions resumed per throughput run"
    )
    parser.add_argument("--big-waiting", type=int, default=0, help="the big waiting level")
    parser.add_argument("--concurrency", type=int, default=32, help="resumes in flight")
    parser.add_argument(
        "--split-workers",
        type=int,
        default=2,
        help="API and worker processes apart: 1..N `threadline worker` processes on "
        "PostgreSQL, 1 on SQLite (0: skip)",
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="diagnostics: extra environment of those worker processes, e.g. "
        "THREADLINE_WORKER_POLL_SECONDS=0.02 (repeatable)",
    )
    parser.add_argument(
        "--worker-uvloop",
        action="store_true",
        help="diagnostics: run those worker processes on uvloop (`threadline worker` does not)",
    )
    parser.add_argument(
        "--pg-plan-cache-mode",
        default="auto",
        choices=["auto", "force_custom_plan"],
        help="plan_cache_mode of the bench database (auto: PostgreSQL's default); "
        "force_custom_plan lets trees older than a3c3997 run (docs/benchmarks.md)",
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="diagnostics: no ANALYZE before the measured phases (statistics as autovacuum "
        "left them)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args(argv)
    args.backend = args.backend or ["sqlite", "postgresql"]
    return args


def run() -> None:
    args = _args(sys.argv[1:])
    report = asyncio.run(main(args))
    rendered = json.dumps(report, indent=2, default=str)
    with contextlib.suppress(OSError):
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / f"last-{report['mode']}.json").write_text(rendered + "\n")
    print(rendered)


if __name__ == "__main__":
    run()
