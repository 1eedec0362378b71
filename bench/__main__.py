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

from bench import fixture, procs
from bench.params import Params
from bench.phases import BackendRun
from bench.procs import log
from bench.report import check_targets, machine_info, source_info
from threadline.tasks import load_tasks

RESULTS_DIR = Path(__file__).resolve().parent / "results"


async def main(args: argparse.Namespace) -> dict[str, Any]:
    params = Params.of(args)
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
    report["targets"] = check_targets(report["backends"])
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
