"""Shared by every phase of a backend run: its state and the measuring primitives."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from bench import cpuprofile, fixture, procs, seed, workload
from bench.params import Params, cycle_timeout
from bench.procs import CpuMeter, log
from threadline.kit.resources import Resources
from threadline.models import FlowExecution

#: The phases ``--profile`` records (labels as ``_http_level`` and ``_inprocess`` name them).
PROFILED = ("in-process", "http", "split 1w")
PROFILE_DIR = Path(__file__).resolve().parent / "results" / "profiles"


class RunBase:
    """One backend's run: its state, and the measuring primitives every phase uses.

    ``url``, ``key``, ``resources``, ``world`` and ``_ids`` are set as the run proceeds
    (``BackendRun.run`` and ``BackendRun._run``).
    """

    url: str
    key: str
    resources: Resources
    world: fixture.World
    _ids: list[uuid.UUID]

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
        self.profiler = cpuprofile.Profiler(
            enabled=params.profile, out_dir=PROFILE_DIR, prefix=f"{params.mode}-{name}"
        )

    def _profiled(self, label: str, pids: dict[str, int]) -> Any:
        """A context that profiles ``pids`` during the phase ``label`` if it is profiled."""
        return self.profiler.record(label, pids if label in PROFILED else {})

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

        The in-process phase leaves up to 48 (both worker lanes + api_connections) open,
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
            timeout=cycle_timeout(len(ids)),
            what=what,
        )

    @property
    def _cycle_ids(self) -> list[uuid.UUID]:
        return self._ids[: self.p.cycle_executions]

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
        async with self._profiled(label, servers):
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
                    base + count, timeout=cycle_timeout(count), what=f"{label} latency tail"
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
                "(the resume and whatever jobs deliver its reply)"
            )
        reply = latency.get("reply_latency_ms", {}).get("p50")
        log(
            f"{label}: latency p50 {latency['latency_ms']['p50']} ms, "
            f"p99 {latency['latency_ms']['p99']} ms; reply p50 {reply} ms"
        )
        return latency
