"""Phase 3: `threadline serve` without its embedded worker, beside `threadline worker`s."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from bench import procs, workload
from bench.params import cycle_timeout
from bench.procs import log
from bench.run_base import RunBase
from threadline.config import Settings

#: The slow lane (external calls) of each worker process: the bench's flow makes none.
SPLIT_SLOW_CONCURRENCY = 2


def split_levels(most: int, backend: str) -> list[int]:
    """Worker processes beside the API: 1, 2, 4 … up to ``most`` (and ``most`` itself) on
    PostgreSQL, 1 on SQLite (two writers on one file only queue, docs/benchmarks.md 5)."""
    if backend != "postgresql":
        return [1] if most >= 1 else []
    levels = [n for n in (1, 2, 4, 8, 16, 32) if n <= most]
    return levels + ([most] if most > 0 and most not in levels else [])


class SplitPhases(RunBase):
    """The API and `threadline worker` processes apart (phase 3)."""

    def _split_levels(self) -> list[int]:
        return split_levels(self.p.split_workers, self.name)

    def _worker_env(self) -> dict[str, str]:
        """Each worker's pool is sized by its lanes (``Resources.create``): set them so the
        API and the most workers fit in ``max_connections``; ``--worker-env`` wins."""
        sized = {
            "THREADLINE_WORKER_CONCURRENCY": str(self.p.split_worker_concurrency),
            "THREADLINE_WORKER_SLOW_CONCURRENCY": str(SPLIT_SLOW_CONCURRENCY),
        }
        return sized | dict(item.split("=", 1) for item in self.p.worker_env)

    def _connection_budget(self, most: int) -> dict[str, Any]:
        """The connections the split may hold at its largest level, by pool sizes."""
        env = self._worker_env()
        per_worker = (
            int(env["THREADLINE_WORKER_CONCURRENCY"])
            + int(env["THREADLINE_WORKER_SLOW_CONCURRENCY"])
            + 2  # Resources.create: a worker-only process's own 2
            + 1  # the LISTEN connection (jobs/listener.py)
        )
        api = int(Settings.model_fields["api_connections"].default)  # children get no override
        return {
            "worker_env": env,
            "per_worker_process": per_worker,
            "api_process": api,
            "most_workers": most,
            "projected_most": api + most * per_worker + 1,
            "note": "pool sizes by Resources.create as of this bench; held connections are "
            "measured per level (postgres_connections_held)",
        }

    def _start_worker(self, name: str) -> procs.Child:
        return procs.start_worker(
            self.workdir,
            database_url=self.url,
            secret_key=self.key,
            data_dir=self.workdir / "srv-worker",
            name=name,
            extra_env=self._worker_env(),
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
        r["split_connection_budget"] = budget = self._connection_budget(levels[-1])
        if (held := await self._connections()) is not None:
            budget["max_connections"] = held["max_connections"]
            budget["server_clients_before"] = held["server_clients"]
            if budget["projected_most"] + held["server_clients"] > held["max_connections"]:
                log(f"{self.name}: split may exceed max_connections: {budget}")
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
            r["split_scaling"] = _scaling(r, levels)
        finally:
            await client.aclose()
            for child in (*workers, api):
                child.stop()
            r["split_log_tail"] = {c.name: c.tail(5) for c in (api, *workers) if c.tail(5)}

    async def _api_alone(
        self, api: procs.Child, ids: list[uuid.UUID], rate: float, workers: list[procs.Child]
    ) -> list[procs.Child]:
        """The split's open loop with every worker stopped, then a fresh worker catches up.

        Whatever the resumes leave to a worker waits, so this is the API's request path
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
            base + latency["requests"], timeout=cycle_timeout(latency["requests"]), what="catch-up"
        )
        return restarted


def _threadline_ms(cpu: dict[str, Any]) -> float:
    """CPU per cycle of the API and every worker process together."""
    names = [name for name in cpu if name == "api" or name.startswith("worker_")]
    return round(sum(cpu[name]["cpu_ms_per_op"] or 0.0 for name in names), 3)


def _scaling(result: dict[str, Any], levels: list[int]) -> dict[str, Any]:
    """Throughput with N worker processes over throughput with 1, per level."""
    rows = []
    for count in levels:
        key = "resumes_per_second_http_split" + ("" if count == 1 else f"_{count}_workers")
        level = result[key]
        rows.append((count, level["value"], level["cpu"], level.get("postgres_connections_held")))
    one = rows[0][1]
    return {
        "what": "resume cycles/s over HTTP with the API process and N `threadline worker` "
        "processes; factor = cycles/s with N / with 1",
        "workers": [count for count, *_ in rows],
        "cycles_per_second": [rate for _, rate, *_ in rows],
        "factor_vs_1_worker": [round(rate / one, 3) if one else None for _, rate, *_ in rows],
        "machine_busy_pct": [cpu.get("machine_busy_pct") for *_, cpu, _ in rows],
        "threadline_cpu_ms_per_cycle": [_threadline_ms(cpu) for *_, cpu, _ in rows],
        "postgres_connections_held": [
            held.get("bench_database") if held else None for *_, held in rows
        ],
    }
