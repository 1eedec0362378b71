"""Prometheus metrics of the job queue (``prometheus_client``'s default registry).

Counters and histograms move as jobs run; the queue gauges are refreshed on demand by
:func:`refresh_queue_metrics` (``/metrics`` calls it before rendering).
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs import repository
from threadline.jobs.registry import LANES, Registry, registry
from threadline.kit.clock import utcnow
from threadline.kit.metrics import SCRAPE_HOOKS

#: Task whose start is a timer firing: its lateness is measured.
TIMER_TASK = "executions.timeout"

JOBS = Counter("threadline_jobs", "Jobs that ended, by task and outcome", ["task", "outcome"])
JOB_DURATION = Histogram(
    "threadline_job_duration_seconds",
    "How long a job ran, by task",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
QUEUE_DEPTH = Gauge("threadline_queue_depth", "Due queued jobs waiting for a slot", ["lane"])
QUEUE_LAG = Gauge(
    "threadline_queue_lag_seconds", "Age of the oldest due queued job (0 if none)", ["lane"]
)
TIMER_LATENESS = Histogram(
    "threadline_timer_lateness_seconds",
    "How long after its due time a timer (executions.timeout) started",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def job_ended(task: str, outcome: str, seconds: float) -> None:
    """Count one ended job and its duration."""
    JOBS.labels(task=task, outcome=outcome).inc()
    JOB_DURATION.labels(task=task).observe(seconds)


def job_started(task: str, run_at: datetime | None, now: datetime) -> None:
    """Record a timer's lateness when it starts."""
    if task == TIMER_TASK and run_at is not None:
        TIMER_LATENESS.observe(max(0.0, (now - run_at).total_seconds()))


async def refresh_queue_metrics(session: AsyncSession, *, tasks: Registry = registry) -> None:
    """Set the queue depth and lag gauges of every lane from one grouped query."""
    now = utcnow()
    depth = dict.fromkeys(LANES, 0)
    oldest: dict[str, datetime] = {}
    for task, count, run_at in await repository.due_by_task(session, now):
        lane = tasks.lane(task)
        depth[lane] += count
        oldest[lane] = min(run_at, oldest.get(lane, run_at))
    for lane in LANES:
        QUEUE_DEPTH.labels(lane=lane).set(depth[lane])
        lag = (now - oldest[lane]).total_seconds() if lane in oldest else 0.0
        QUEUE_LAG.labels(lane=lane).set(max(0.0, lag))


SCRAPE_HOOKS.append(refresh_queue_metrics)
