"""What the worker tells operators: one log line per job, Prometheus counters and gauges."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from threadline.jobs.metrics import refresh_queue_metrics
from threadline.jobs.queue import enqueue
from threadline.jobs.registry import Registry
from threadline.jobs.retry import PermanentJobError, RetryPolicy
from threadline.jobs.worker import JobContext, Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_each_ended_job_is_counted_timed_and_logged(
    resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = Registry()

    @tasks.task("test.metrics_ok")
    async def ok(ctx: JobContext) -> None:
        """Does nothing, successfully."""

    @tasks.task("test.metrics_bad", policy=RetryPolicy(max_attempts=1))
    async def bad(ctx: JobContext) -> None:
        raise PermanentJobError("never")

    before = {
        "ok": sample("threadline_jobs_total", task="test.metrics_ok", outcome="finished"),
        "bad": sample("threadline_jobs_total", task="test.metrics_bad", outcome="failed"),
        "timed": sample("threadline_job_duration_seconds_count", task="test.metrics_ok"),
    }
    async with resources.db.transaction() as session:
        for _ in range(2):
            await enqueue(session, "test.metrics_ok", {"execution_id": "e-1"})
        await enqueue(session, "test.metrics_bad", {}, max_attempts=1)
    with caplog.at_level(logging.INFO, logger="threadline.worker"):
        await Worker(resources, tasks=tasks).run_until_idle(timeout=10)

    ok_total = sample("threadline_jobs_total", task="test.metrics_ok", outcome="finished")
    bad_total = sample("threadline_jobs_total", task="test.metrics_bad", outcome="failed")
    assert ok_total - before["ok"] == 2
    assert bad_total - before["bad"] == 1
    assert sample("threadline_job_duration_seconds_count", task="test.metrics_ok") == (
        before["timed"] + 2
    )
    done = [r for r in caplog.records if r.getMessage() == "job done"]
    fields = sorted((r.task, r.outcome, r.lane, r.execution_id) for r in done)  # type: ignore[attr-defined]
    assert fields == [
        ("test.metrics_bad", "failed", "fast", None),
        ("test.metrics_ok", "finished", "fast", "e-1"),
        ("test.metrics_ok", "finished", "fast", "e-1"),
    ]
    assert all(isinstance(r.duration_ms, float) and r.job_id for r in done)  # type: ignore[attr-defined]


async def test_queue_depth_and_lag_per_lane(resources: Resources) -> None:
    tasks = Registry()
    tasks.task("test.quick")(_noop)
    tasks.task("test.external", lane="slow")(_noop)
    now = utcnow()
    async with resources.db.transaction() as session:
        for seconds in (30, 5, 1):
            await enqueue(session, "test.quick", {}, run_at=now - timedelta(seconds=seconds))
        await enqueue(session, "test.external", {}, run_at=now - timedelta(seconds=2))
        await enqueue(session, "test.external", {}, run_at=now + timedelta(hours=1))

    async with resources.db.session() as session:
        await refresh_queue_metrics(session, tasks=tasks)

    assert sample("threadline_queue_depth", lane="fast") == 3
    assert sample("threadline_queue_depth", lane="slow") == 1  # the later one is not due
    assert 30 <= sample("threadline_queue_lag_seconds", lane="fast") < 40
    assert 2 <= sample("threadline_queue_lag_seconds", lane="slow") < 12


async def test_a_timer_that_starts_late_is_measured(resources: Resources) -> None:
    tasks = Registry()
    tasks.task("executions.timeout")(_noop)
    count = sample("threadline_timer_lateness_seconds_count")
    total = sample("threadline_timer_lateness_seconds_sum")
    async with resources.db.transaction() as session:
        due = utcnow() - timedelta(seconds=3)  # its worker was busy, or down
        await enqueue(session, "executions.timeout", {}, run_at=due)

    await Worker(resources, tasks=tasks).run_until_idle(timeout=10)

    assert sample("threadline_timer_lateness_seconds_count") == count + 1
    assert 3 <= sample("threadline_timer_lateness_seconds_sum") - total < 13


async def _noop(ctx: JobContext) -> None:
    """A job that does nothing."""
