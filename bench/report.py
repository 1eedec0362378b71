"""The report's context (source tree, machine) and its pass/fail targets."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import threadline

#: Resume-cost growth still called "no growth" (run-to-run noise here is ~10-20 %).
GROWTH_TOLERANCE = 1.25


def source_info() -> dict[str, Any]:
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


def header(benchmark: str, module: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The opening of a benchmark's JSON report: what ran, the exact command, the source,
    the machine and the parameters; ``backends`` for the per-database results."""
    return {
        "benchmark": benchmark,
        "command": " ".join([f"python -m {module}", *sys.argv[1:]]),
        "source": source_info(),
        "machine": machine_info(),
        "parameters": parameters,
        "backends": {},
    }


def machine_info() -> dict[str, Any]:
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


def check_targets(backends: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
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
