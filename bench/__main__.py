"""``python -m bench``: Threadline's throughput, latency, storage and memory, as one JSON object.

Stdout carries only the JSON (also saved to bench/results/); progress goes to stderr.
What each number means and how it is measured: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import ceiling, fixture, procs
from bench.params import Params
from bench.phases import BackendRun
from bench.procs import log
from bench.report import check_targets, machine_info, source_info
from threadline.kit.migrate import upgrade_async
from threadline.tasks import load_tasks

RESULTS_DIR = Path(__file__).resolve().parent / "results"


async def main(args: argparse.Namespace) -> dict[str, Any]:
    params = Params.of(args)
    fixture.use_database(args.pg_database)
    load_tasks()
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "threadline: execution starts and resume cycles",
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "mode": params.mode,
        "source": source_info(),
        "machine": machine_info(),
        "parameters": {
            **{k: v for k, v in asdict(params).items() if k != "mode"},
            "worker_concurrency": 16,
            "wait_timeout_seconds": fixture.WAIT_TIMEOUT_SECONDS,
            "flow": "start -> send_text 'hi' -> wait_for_response (saves x) -> send_text "
            "'got {{vars.x}}' -> back to the same wait",
            "cycle": "a resume, whatever the worker does for it (at 256d298 an "
            "executions.advance job and a messaging.deliver job), the reply's Graph send to "
            "the sandbox over HTTP and the execution waiting again; a cycle counts when its "
            "reply is in the sandbox outbox",
        },
        "backends": {},
    }
    log(f"workdir {workdir}; mode {params.mode}")
    if args.ceiling_only:
        try:
            report["ceiling"] = await _ceiling_only(params.ceiling_seconds or 5, workdir, args)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        report["duration_s"] = round(time.perf_counter() - started, 1)
        return report
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
    report["targets"] = check_targets(report["backends"])
    _lift_ceiling(report)
    report["duration_s"] = round(time.perf_counter() - started, 1)
    return report


async def _ceiling_only(seconds: float, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``--ceiling-only``: the bench database, migrated, and pgbench on it; nothing else."""
    reason = await fixture.postgres_reachable()
    if reason is not None:
        return {"skipped": reason}
    url = await fixture.fresh_postgres(args.pg_plan_cache_mode)
    try:
        await upgrade_async(url)
        return await ceiling.measure(fixture.PG_DATABASE, workdir, seconds=seconds)
    finally:
        if not args.keep:
            await fixture.drop_postgres()


def _lift_ceiling(report: dict[str, Any]) -> None:
    """The PostgreSQL run's ceiling at the top of the report, with the measured fractions."""
    backend = report["backends"].get("postgresql", {})
    found = backend.pop("ceiling", None) or backend.get("partial", {}).pop("ceiling", None)
    if found is None:
        return
    if "error" not in found:
        found["fraction_of_ceiling"] = ceiling.fractions(found, backend)
    report["ceiling"] = found


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
        default=4,
        help="API and worker processes apart: 1, 2, 4 .. N `threadline worker` processes on "
        "PostgreSQL, 1 on SQLite (0: skip)",
    )
    parser.add_argument(
        "--split-worker-concurrency",
        type=int,
        default=8,
        help="THREADLINE_WORKER_CONCURRENCY of each split worker process (its pool: this "
        "+ 2 slow-lane + 2 + 1 LISTEN connections; 4 workers and the API fit in 100)",
    )
    parser.add_argument(
        "--ceiling-seconds",
        type=float,
        default=None,
        help="PostgreSQL: seconds per pgbench run of the commit ceiling (default 5, quick 2; "
        "0: skip the ceiling)",
    )
    parser.add_argument(
        "--ceiling-only",
        action="store_true",
        help="only the PostgreSQL commit ceiling (pgbench on the bench database), ~1 min",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy (else cProfile, bench process only) of the in-process, combined HTTP "
        "and split 1-worker phases: top functions in the JSON, raw stacks in "
        "bench/results/profiles/ (slows those phases)",
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
        "--pg-database",
        default=fixture.PG_DATABASE,
        help="name of the bench's own PostgreSQL database, dropped and created (never "
        "`test`); another name lets two runs share one server",
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
        name = "ceiling" if "--ceiling-only" in sys.argv else report["mode"]
        (RESULTS_DIR / f"last-{name}.json").write_text(rendered + "\n")
    print(rendered)


if __name__ == "__main__":
    run()
