"""What one bench run does (``--quick`` shrinks it), and how long its waits may take."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


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
    split_workers: int  # PostgreSQL: API + 1, 2, 4 .. N `threadline worker` processes (0: none)
    split_worker_concurrency: int  # each worker process's fast lane (sizes its pool)
    worker_env: tuple[str, ...]  # extra KEY=VALUE for those worker processes (diagnostics)
    worker_uvloop: bool  # run those worker processes on uvloop (diagnostics)
    analyze: bool  # PostgreSQL: ANALYZE before each measured phase
    pg_plan_cache_mode: str
    ceiling_seconds: float  # PostgreSQL: seconds per pgbench run of the ceiling (0: none)
    profile: bool  # py-spy (or cProfile) of the profiled phases (bench/cpuprofile.py)

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
            split_worker_concurrency=args.split_worker_concurrency,
            worker_env=tuple(args.worker_env),
            worker_uvloop=args.worker_uvloop,
            analyze=not args.no_analyze,
            pg_plan_cache_mode=args.pg_plan_cache_mode,
            ceiling_seconds=(
                args.ceiling_seconds if args.ceiling_seconds is not None else (2 if quick else 5)
            ),
            profile=args.profile,
        )


def cycle_timeout(count: int) -> float:
    # Generous (a cycle costs ~15-40 ms of CPU here); the bound only stops a hung run.
    return 60.0 + count * 0.25
