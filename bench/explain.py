"""``python -m bench.explain``: the plan of every hot query at scale, as JSON on stdout.

A fresh PostgreSQL database is brought to head and seeded (``bench/explain_seed.py``:
100,000 waiting executions, 1,000,000 events). Each hot query is then run through the
application's own repository function, its SQL and parameters captured as the driver
got them, and run again under ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``, each in a
transaction rolled back. For each: the rows returned, the rows the plan read (every
scan's rows plus those its filters dropped, times its loops), the indexes used and
the time. ``scans_more_than_returns`` flags a query that reads more rows than it
returns plus one (a lookup that finds nothing still reads nothing). Takes about a
minute; not part of the test suite.

    python -m bench.explain [--keep]   # --keep leaves the database for a look
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench import explain_seed
from threadline.config import Settings
from threadline.kit.clock import utcnow
from threadline.kit.crypto import new_secret_key
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
Query = Callable[[AsyncSession], Awaitable[Any]]


def _id(kind: str, n: int | str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"{kind}{n}".encode()).hexdigest())


def _queries() -> dict[str, Query]:
    """The hot queries, each as the application calls it, on a row in the middle."""
    from threadline.conversations import repository as conversations
    from threadline.executions import repository as executions
    from threadline.executions.service import API_RESUMABLE
    from threadline.inbound import repository as inbound
    from threadline.jobs import repository as jobs
    from threadline.messaging import repository as messaging
    from threadline.retention import repository as retention
    from threadline.retention.service import KEEP_LAST_EVENTS

    n = 50_007  # a waiting execution in project n % 10, in conversation n
    project, execution = _id("project", n % 10), _id("waiting", n)
    conversation, ended = _id("conversation", 7), _id("ended", 7)  # 7: has an ended run too
    fast = ["executions.advance", "executions.timeout", "messaging.deliver", "inbound.inbox"]
    now = utcnow()
    return {
        "job_claim": lambda s: jobs.claim(s, now=now, limit=16, lease_seconds=8, tasks=fast),
        "claim_waiting": lambda s: executions.claim_waiting(
            s, execution, reasons=API_RESUMABLE, now=now, project_id=project
        ),
        "get_execution": lambda s: executions.get(s, project, execution),
        "get_execution_for_update": lambda s: executions.get_for_update(s, execution),
        "events_page": lambda s: executions.list_events(s, project, execution, offset=0, limit=20),
        "recent_events": lambda s: executions.recent_events(s, project, execution, limit=10),
        "next_pending_outbox_by_execution": lambda s: messaging.next_pending(s, _id("waiting", 9)),
        "next_pending_outbox_by_conversation": lambda s: messaging.next_pending(
            s, _id("conversation", 9), by_conversation=True
        ),
        "active_execution_in_conversation": lambda s: executions.active_in_conversation(
            s, conversation
        ),
        "conversation_lookup": lambda s: conversations.active(
            s, _id("config", 7), _id("contact", 7)
        ),
        "conversation_lock": lambda s: conversations.lock(s, conversation),
        "next_pending_inbound": lambda s: conversations.next_pending_inbound(
            s, _id("conversation", 9)
        ),
        "has_pending_inbound": lambda s: conversations.has_pending_inbound(s, conversation),
        "webhook_lookup": lambda s: inbound.lock_webhook(s, 50_000),
        "status_to_message": lambda s: messaging.lock_by_wamid(
            s, _id("config", n % 10), f"wamid.out.{n}"
        ),
        "due_probe": lambda s: jobs.due_tasks(s, now=now, tasks=fast),
        "due_by_task": lambda s: jobs.due_by_task(s, now),
        "retention_compaction_due": lambda s: retention.compaction_due(
            s, ended_before=now - timedelta(days=30), keep=KEEP_LAST_EVENTS, limit=500
        ),
        "retention_events_before": lambda s: _events_before(s, retention, ended),
        "retention_failed_jobs": lambda s: retention.delete_failed_jobs(
            s, before=now - timedelta(days=30), limit=500
        ),
        "retention_webhooks": lambda s: retention.delete_processed_webhooks(
            s, before=now - timedelta(days=30), limit=500
        ),
        "retention_statuses": lambda s: retention.delete_status_events(
            s, before=now - timedelta(days=30), limit=500
        ),
    }


async def _events_before(session: AsyncSession, retention: Any, execution: uuid.UUID) -> Any:
    """The retention's read of an ended run's old events (its boundary found first)."""
    boundary = (
        await session.execute(
            text(
                "SELECT id FROM execution_events WHERE execution_id = :e "
                "ORDER BY id DESC OFFSET 4 LIMIT 1"
            ),
            {"e": execution},
        )
    ).scalar_one()
    due = retention.Due(execution, _id("project", 7), boundary)
    return await retention.events_before(session, due, limit=502)


async def _capture(resources: Resources, query: Query) -> list[tuple[str, Any]]:
    """The statements ``query`` sends (SQL and parameters), its transaction rolled back."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    engine = resources.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with resources.db.session() as session:
            await query(session)
            await session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [(sql, params) for sql, params in seen if not sql.lstrip().upper().startswith("BEGIN")]


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [n for child in node.get("Plans", []) for n in _walk(child)]


def _summary(plan: dict[str, Any]) -> dict[str, Any]:
    root = plan["Plan"]
    nodes = _walk(root)
    read = 0
    for node in nodes:
        # Table and index scans only: a subquery scan or a join re-reads rows counted below it.
        if "Relation Name" in node and node["Node Type"] != "ModifyTable":
            per_loop = (
                node.get("Actual Rows", 0)
                + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0)
            )
            read += round(per_loop * node.get("Actual Loops", 1))
    # An UPDATE or DELETE without RETURNING: the rows it changed.
    top = root["Plans"][0] if root["Node Type"] == "ModifyTable" else root
    returned = max(root.get("Actual Rows", 0), top.get("Actual Rows", 0))
    return {
        "returned": returned,
        "rows_read": read,
        "scans_more_than_returns": read > returned + 1,
        "nodes": [
            node["Node Type"]
            + (f" {node['Index Name']}" if "Index Name" in node else "")
            + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
            for node in nodes
        ],
        "buffers_hit": root.get("Shared Hit Blocks", 0),
        "buffers_read": root.get("Shared Read Blocks", 0),
        "execution_ms": round(plan["Execution Time"], 3),
        "planning_ms": round(plan["Planning Time"], 3),
    }


async def _explain(resources: Resources, sql: str, params: Any) -> dict[str, Any]:
    async with resources.db.engine.connect() as conn:
        result = await conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params
        )
        document = result.scalar_one()
        await conn.rollback()
    plan = (json.loads(document) if isinstance(document, str) else document)[0]
    return _summary(plan)


async def run(*, keep: bool) -> dict[str, Any]:
    """Seed a fresh database, explain every hot query; the report."""
    name = f"threadline_explain_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await upgrade_async(url)
        settings = Settings(database_url=url, secret_key=new_secret_key())
        resources = Resources.create(settings, worker=False)
        try:
            began = time.perf_counter()
            async with resources.db.engine.begin() as conn:
                await explain_seed.seed(conn)
            seeded = round(time.perf_counter() - began, 1)
            results = {}
            for label, query in _queries().items():
                statements = await _capture(resources, query)
                results[label] = [await _explain(resources, sql, p) for sql, p in statements]
                print(label, file=sys.stderr)
            counts = await _counts(resources)
        finally:
            await resources.close()
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    flagged = [k for k, v in results.items() if any(s["scans_more_than_returns"] for s in v)]
    return {"database": name, "seed_seconds": seeded, "rows": counts, "queries": results,
            "scanning_more_than_returned": flagged}  # fmt: skip


async def _counts(resources: Resources) -> dict[str, int]:
    tables = ("flow_executions", "execution_events", "whatsapp_messages", "jobs")
    async with resources.db.engine.connect() as conn:
        return {
            table: int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
            for table in tables
        }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the seeded database")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(keep=args.keep)), indent=2))


if __name__ == "__main__":
    main()
