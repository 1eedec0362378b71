"""The retention compacts the event logs of executions that ended long ago, and only those.

Real runs through the API (an ask-and-reply flow: 14 events when it ends, 7 while it
waits), then ``ended_at`` moved back past the retention.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from builders import (
    TestProject,
    ask_and_reply,
    create_active_flow,
    create_project,
    execution_events,
    resume,
    run_jobs,
    start_execution,
)
from threadline.jobs.worker import Worker
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import ExecutionEvent, FlowExecution, Job
from threadline.retention import service
from threadline.retention.repository import SUMMARY_KIND

LAST_FIVE = [
    ("step_entered", "reply"),
    ("message_queued", "reply"),
    ("step_left", "reply"),
    ("execution_ended", "reply"),
    ("message_sent", "reply"),
]


async def _runs(
    client: httpx.AsyncClient, resources: Resources, project: TestProject, *, ended: int
) -> tuple[list[str], str]:
    """``ended`` executions run to their end, and one left waiting; their ids."""
    flow_id = await create_active_flow(client, project, ask_and_reply())
    ids = [
        (await start_execution(client, project, flow_id, phone=f"+1555000{n:04d}"))["id"]
        for n in range(ended + 1)
    ]
    await run_jobs(resources)
    for execution_id in ids[:ended]:
        assert (await resume(client, project, execution_id, {"input": "x"})).status_code == 200
    await run_jobs(resources)
    return ids[:ended], ids[ended]


async def _age(resources: Resources, ids: list[str], days: float) -> None:
    """Pretend the executions ended (and started, when waiting) ``days`` ago."""
    moment = utcnow() - timedelta(days=days)
    async with resources.db.transaction() as session:
        for execution_id in ids:
            row = await session.get(FlowExecution, uuid.UUID(execution_id))
            assert row is not None
            row.started_at = moment
            if row.ended_at is not None:
                row.ended_at = moment


async def _compact(resources: Resources, *, batch: int) -> bool:
    async with resources.db.transaction() as session:
        return await service.compact_events(
            session, ended_before=utcnow() - timedelta(days=30), batch=batch, now=utcnow()
        )


async def _event_count(resources: Resources) -> int:
    async with resources.db.session() as session:
        statement = select(func.count()).select_from(ExecutionEvent)
        return int((await session.execute(statement)).scalar_one())


def _shape(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["node_id"]) for e in events]


async def test_old_ended_logs_become_a_summary_and_their_last_events(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    (old, recent), waiting = await _runs(client, resources, project, ended=2)
    before = await execution_events(client, project, old)
    waiting_before = await execution_events(client, project, waiting)
    await _age(resources, [old, waiting], days=40)

    assert await _compact(resources, batch=500) is False

    after = await execution_events(client, project, old)
    summary, *kept = after
    assert (summary["kind"], summary["node_id"]) == (SUMMARY_KIND, None)
    assert summary["id"] == before[0]["id"]  # it takes the first pruned event's place
    assert summary["data"] == {
        "pruned_events": len(before) - 5,
        "first_at": before[0]["at"].replace("Z", "+00:00"),
        "last_at": before[-6]["at"].replace("Z", "+00:00"),
    }
    assert _shape(kept) == LAST_FIVE and kept == before[-5:]
    # A waiting execution (however old) and one that ended recently keep everything.
    assert await execution_events(client, project, waiting) == waiting_before
    assert len(await execution_events(client, project, recent)) == len(before)


@pytest.mark.parametrize("batch", [1, 4])
async def test_a_batch_compacts_at_most_its_size_and_batches_add_up(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, batch: int
) -> None:
    project = await create_project(resources, sandbox_url)
    ended, _waiting = await _runs(client, resources, project, ended=2)
    await _age(resources, ended, days=40)
    logs = {e: await execution_events(client, project, e) for e in ended}
    prunable = sum(len(log) - 5 for log in logs.values())  # 9 each

    runs, count = 0, await _event_count(resources)
    while True:
        runs += 1
        more = await _compact(resources, batch=batch)
        left = await _event_count(resources)
        # A batch deletes at most ``batch`` rows (the summary replaces one of them).
        assert count - left <= batch
        count = left
        if not more:
            break
    assert runs == -(-prunable // batch) + (1 if prunable % batch == 0 else 0)
    for execution_id, before in logs.items():
        summary, *kept = await execution_events(client, project, execution_id)
        assert summary["data"]["pruned_events"] == len(before) - 5
        assert summary["data"]["first_at"] == before[0]["at"].replace("Z", "+00:00")
        assert summary["data"]["last_at"] == before[-6]["at"].replace("Z", "+00:00")
        assert kept == before[-5:]


async def test_compacting_again_changes_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    (old,), _waiting = await _runs(client, resources, project, ended=1)
    await _age(resources, [old], days=40)
    await _compact(resources, batch=500)
    compacted = await execution_events(client, project, old)
    async with resources.db.session() as session:
        row = await session.get(FlowExecution, uuid.UUID(old))
        assert row is not None and row.events_compacted_at is not None
        marked = row.events_compacted_at

    assert await _compact(resources, batch=500) is False
    assert await execution_events(client, project, old) == compacted
    async with resources.db.session() as session:
        row = await session.get(FlowExecution, uuid.UUID(old))
        assert row is not None and row.events_compacted_at == marked


async def test_the_job_runs_once_per_interval_and_keeps_one_run_queued(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    settings = resources.settings.model_copy(update={"retention_batch_size": 4})
    resources.settings = settings
    project = await create_project(resources, sandbox_url)
    (old,), waiting = await _runs(client, resources, project, ended=1)
    await _age(resources, [old, waiting], days=40)
    for _ in range(3):  # every worker start asks; one run is queued
        async with resources.db.transaction() as session:
            await service.ensure_scheduled(session, settings)

    # 9 prunable events, 4 per batch: the job queues itself at once until it catches up.
    await Worker(resources).run_until_idle()

    summary, *kept = await execution_events(client, project, old)
    assert summary["data"]["pruned_events"] == 9 and _shape(kept) == LAST_FIVE
    assert len(await execution_events(client, project, waiting)) == 7
    async with resources.db.session() as session:
        statement = select(Job).where(Job.task == service.RETENTION_TASK)
        rows = (await session.execute(statement)).scalars().all()
    assert [(j.status, j.project_id, j.dedupe_key) for j in rows] == [
        ("queued", None, service.RETENTION_KEY)
    ]
    due_in = rows[0].run_at - utcnow()
    assert timedelta(minutes=59) < due_in <= timedelta(hours=1)


async def test_zero_days_keeps_every_log(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    settings = resources.settings.model_copy(update={"event_retention_days": 0})
    project = await create_project(resources, sandbox_url)
    (old,), _waiting = await _runs(client, resources, project, ended=1)
    await _age(resources, [old], days=4000)
    before = await execution_events(client, project, old)
    async with resources.db.transaction() as session:
        assert await service.compact_due(session, settings, utcnow()) is False
    assert await execution_events(client, project, old) == before


async def test_a_failed_execution_is_compacted_like_an_ended_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    from threadline.executions.failure import fail_execution

    project = await create_project(resources, sandbox_url)
    _ended, waiting = await _runs(client, resources, project, ended=0)
    async with resources.db.transaction() as session:
        failed = await fail_execution(session, uuid.UUID(waiting), {"message": "x"}, utcnow())
        assert failed
    before = await execution_events(client, project, waiting)  # 7, then the error
    await _age(resources, [waiting], days=40)
    await _compact(resources, batch=500)
    summary, *kept = await execution_events(client, project, waiting)
    assert summary["data"]["pruned_events"] == len(before) - 5
    assert kept == before[-5:] and kept[-1]["kind"] == "error"
