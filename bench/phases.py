"""A backend run's phases in order: starts, in-process cycles, the split, HTTP and seeding."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from typing import Any

from sqlalchemy import text

from bench import ceiling, fixture, procs, seed, storage, workload
from bench.params import cycle_timeout
from bench.procs import RssSampler, log
from bench.split import SplitPhases
from bench.sqlcount import StatementCounter
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources


class BackendRun(SplitPhases):
    """Every measurement on one backend, in order, on one database."""

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
            if self.profiler.summaries:
                self.result["profile"] = self.profiler.summaries
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
        counter = StatementCounter(resources.db.engine, resources.db.priority_engine)
        if self.name == "postgresql":
            async with resources.db.engine.connect() as conn:
                for setting in ("server_version", "plan_cache_mode", "synchronous_commit"):
                    r[setting] = (await conn.execute(text(f"SHOW {setting}"))).scalar_one()
            await self._ceiling()
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
                base + count, timeout=cycle_timeout(count), what="first sends"
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
                "note": "at 256d298 each cycle appends 7 event rows and 1 outbox row, never pruned",
            }
        finally:
            worker.stop()
            await worker_task

        # 3. Over HTTP, the API and `threadline worker` processes apart ------------------------
        await self._split(ids)

        # 4. Over HTTP: `threadline serve` (API + embedded worker) as a subprocess -----------
        await self._http(ids, template, template_phone)

    async def _ceiling(self) -> None:
        """pgbench on scratch tables of this database, before any phase (bench/ceiling.py)."""
        if self.p.ceiling_seconds <= 0:
            return
        log(f"{self.name}: the commit ceiling (pgbench, {self.p.ceiling_seconds} s per run)")
        await self._release_pool()
        try:
            self.result["ceiling"] = await ceiling.measure(
                fixture.PG_DATABASE, self.workdir, seconds=self.p.ceiling_seconds
            )
        except Exception as error:  # the run goes on without it
            log(f"ceiling failed: {type(error).__name__}: {error}")
            self.result["ceiling"] = {"error": f"{type(error).__name__}: {error}"}

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
        async with self._profiled("in-process", {"bench_process": os.getpid()}):
            cycles = await self._cycles(resumer, ids, p.inprocess_concurrency, "in-process")
        cycles["sql_per_cycle"] = counter.take(cycles["cycles"])
        cycles["cpu"] = await self._phase_end(phase, cycles["cycles"])
        await asyncio.sleep(0.3)
        cycles["check"] = await workload.queue_state(self.resources, ids)
        r["resumes_per_second_inprocess"] = {
            "value": cycles["per_second"],
            "via": "executions.service.resume inside resources.db.transaction() (no HTTP), "
            f"{p.inprocess_concurrency} concurrent, plus a threadline Worker task in the same "
            "process (asyncio loop) running the jobs the resumes cause; the sandbox is its "
            "own process",
            **cycles,
        }

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


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(b / a, 3) if a and b is not None else None
