"""Bulk-seeding waiting executions by copying a real started one, and checking the copy.

A started execution writes: its ``flow_executions`` row (waiting at ``wait``), its start
events, its outbox row (``sent`` once delivered, plus a ``message_sent`` event) and its
timer job (``executions.timeout``, queued, due at ``wait_until``). Seeding copies exactly
those rows of a real *template* execution with ``INSERT … SELECT``, giving each copy a
new id, tracking id and phone number (and rewriting them inside the JSON columns, the
timer's payload and its dedupe key), so the copies match the real thing byte for byte
apart from those identifiers; :func:`verify` checks that.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.fixture import phone
from threadline.kit.resources import Resources

SEED_PHONE_PREFIX = "+1888"
TABLES = ("flow_executions", "execution_events", "whatsapp_messages", "jobs")


def _json(pg: bool, expression: str) -> tuple[str, str]:
    """(as text, back to the column type) for a JSON column on each backend."""
    return (f"{expression}::text", "::jsonb") if pg else (expression, "")


async def _fill_ids(conn: AsyncConnection, pg: bool, count: int) -> None:
    if pg:
        await conn.execute(
            text(
                "CREATE TEMP TABLE bench_seed ON COMMIT DROP AS "
                "SELECT n, id, id::text AS id_text, tracking, phone FROM ("
                "SELECT n, gen_random_uuid() AS id, gen_random_uuid() AS tracking, "
                f"'{SEED_PHONE_PREFIX}' || lpad(n::text, 7, '0') AS phone "
                f"FROM generate_series(1, {int(count)}) AS n) AS fresh"
            )
        )
        return
    await conn.execute(
        text(
            "CREATE TEMP TABLE bench_seed "
            "(n INTEGER PRIMARY KEY, id CHAR(32), id_text TEXT, tracking CHAR(32), phone TEXT)"
        )
    )
    rows = []
    for n in range(1, count + 1):
        new = uuid.uuid4()
        rows.append(
            {
                "n": n,
                "id": new.hex,
                "id_text": str(new),
                "tracking": uuid.uuid4().hex,
                "phone": phone(n, SEED_PHONE_PREFIX),
            }
        )
    await conn.execute(
        text("INSERT INTO bench_seed VALUES (:n, :id, :id_text, :tracking, :phone)"), rows
    )


async def seed(
    resources: Resources, template: uuid.UUID, template_phone: str, count: int
) -> dict[str, Any]:
    """Add ``count`` waiting executions shaped like ``template``; returns timings."""
    pg = not resources.db.is_sqlite
    params = {"tpl": template, "tpl_text": str(template), "tpl_phone": template_phone}
    tpl = bindparam("tpl", type_=Uuid)

    def statement(sql: str) -> Any:
        return text(sql).bindparams(tpl)

    system, system_cast = _json(pg, "t.system")
    payload, payload_cast = _json(pg, "o.payload")
    job_payload, job_cast = _json(pg, "j.payload")
    began = time.perf_counter()
    async with resources.db.engine.begin() as conn:
        await _fill_ids(conn, pg, count)
        await conn.execute(
            statement(
                "INSERT INTO flow_executions (id, project_id, flow_id, flow_version_id, "
                "whatsapp_config_id, tracking_id, phone_number, status, current_node_id, step_seq, "
                "wait_reason, wait_until, variables, context, system, error, started_at, ended_at, "
                "last_event_at) "
                "SELECT s.id, t.project_id, t.flow_id, t.flow_version_id, t.whatsapp_config_id, "
                "s.tracking, s.phone, t.status, t.current_node_id, t.step_seq, t.wait_reason, "
                "t.wait_until, t.variables, t.context, "
                f"(replace(replace({system}, :tpl_text, s.id_text), :tpl_phone, s.phone))"
                f"{system_cast}, "
                "t.error, t.started_at, t.ended_at, t.last_event_at "
                "FROM bench_seed s CROSS JOIN flow_executions t WHERE t.id = :tpl ORDER BY s.n"
            ),
            params,
        )
        await conn.execute(
            statement(
                "INSERT INTO execution_events (project_id, execution_id, kind, node_id, at, "
                "duration_ms, data) "
                "SELECT e.project_id, s.id, e.kind, e.node_id, e.at, e.duration_ms, e.data "
                "FROM bench_seed s CROSS JOIN "
                "(SELECT * FROM execution_events WHERE execution_id = :tpl) e ORDER BY s.n, e.id"
            ),
            params,
        )
        await conn.execute(
            statement(
                "INSERT INTO whatsapp_messages (project_id, direction, execution_id, "
                "whatsapp_config_id, node_id, phone_number, message_type, content, payload, "
                "status, attempts, wamid, last_error, created_at, attempted_at, sent_at) "
                "SELECT o.project_id, o.direction, s.id, o.whatsapp_config_id, o.node_id, s.phone, "
                "o.message_type, o.content, "
                f"(replace({payload}, :tpl_phone, s.phone)){payload_cast}, o.status, o.attempts, "
                "o.wamid || '.' || CAST(s.n AS TEXT), o.last_error, o.created_at, "
                "o.attempted_at, o.sent_at "
                "FROM bench_seed s CROSS JOIN "
                "(SELECT * FROM whatsapp_messages WHERE execution_id = :tpl) o ORDER BY s.n, o.id"
            ),
            params,
        )
        await conn.execute(
            text(
                "INSERT INTO jobs (project_id, task, payload, status, run_at, attempts, "
                "max_attempts, lease_expires_at, dedupe_key, lock_key, last_error, created_at) "
                "SELECT j.project_id, j.task, "
                f"(replace({job_payload}, :tpl_text, s.id_text)){job_cast}, "
                "j.status, j.run_at, j.attempts, j.max_attempts, j.lease_expires_at, "
                "replace(j.dedupe_key, :tpl_text, s.id_text), j.lock_key, j.last_error, "
                "j.created_at "
                "FROM bench_seed s CROSS JOIN "
                "(SELECT * FROM jobs WHERE dedupe_key = 'timeout:' || :tpl_text) j ORDER BY s.n"
            ),
            params,
        )
        first = (
            await conn.execute(text("SELECT id_text FROM bench_seed WHERE n = 1"))
        ).scalar_one()
        if not pg:
            await conn.execute(text("DROP TABLE bench_seed"))
    elapsed = time.perf_counter() - began
    analyzed = 0.0
    if pg:
        # Autovacuum would analyze tables that grew this much within a minute; do it now.
        began = time.perf_counter()
        async with resources.db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        analyzed = time.perf_counter() - began
    return {
        "count": count,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(count / elapsed),
        "analyze_seconds": round(analyzed, 2),
        "sample_seeded_id": str(first),
    }


async def _rows(conn: AsyncConnection, execution: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    param = {"e": execution, "k": f"timeout:{execution}"}
    e = bindparam("e", type_=Uuid)
    queries = {
        "flow_executions": "SELECT * FROM flow_executions WHERE id = :e",
        "execution_events": "SELECT * FROM execution_events WHERE execution_id = :e ORDER BY id",
        "whatsapp_messages": "SELECT * FROM whatsapp_messages WHERE execution_id = :e ORDER BY id",
        "jobs": "SELECT * FROM jobs WHERE dedupe_key = :k ORDER BY id",
    }
    result: dict[str, list[dict[str, Any]]] = {}
    for table, sql in queries.items():
        statement = text(sql) if table == "jobs" else text(sql).bindparams(e)
        rows = await conn.execute(statement, param)
        result[table] = [dict(row._mapping) for row in rows]
    return result


def _normalise(
    rows: dict[str, list[dict[str, Any]]], execution: uuid.UUID, number: str
) -> dict[str, Any]:
    """Drop surrogate keys (wamids are unique per copy); mask the execution's id and phone."""
    out: dict[str, Any] = {}
    for table, table_rows in rows.items():
        clean = []
        for row in table_rows:
            item = {}
            for key, value in row.items():
                if key in ("id", "tracking_id", "wamid"):
                    continue
                rendered = value if isinstance(value, str) else repr(value)
                for needle in (str(execution), execution.hex, repr(execution)):
                    rendered = rendered.replace(needle, "<ID>")
                item[key] = rendered.replace(number, "<PHONE>")
            clean.append(item)
        out[table] = clean
    return out


async def verify(
    resources: Resources, template: uuid.UUID, template_phone: str, seeded: uuid.UUID
) -> dict[str, Any]:
    """Compare a seeded execution's rows with the template's, identifiers masked."""
    async with resources.db.engine.connect() as conn:
        real = await _rows(conn, template)
        copy = await _rows(conn, seeded)
    seeded_phone = (
        copy["flow_executions"][0]["phone_number"] if copy["flow_executions"] else "<none>"
    )
    left, right = _normalise(real, template, template_phone), _normalise(copy, seeded, seeded_phone)
    differences = [
        f"{table}[{index}].{key}: {a.get(key)!r} != {b.get(key)!r}"
        for table in TABLES
        for index, (a, b) in enumerate(zip(left[table], right[table], strict=False))
        for key in a
        if a.get(key) != b.get(key)
    ]
    counts_real = {table: len(real[table]) for table in TABLES}
    counts_copy = {table: len(copy[table]) for table in TABLES}
    return {
        "identical_except_identifiers": not differences and counts_real == counts_copy,
        "rows_per_execution": counts_real,
        "rows_of_seeded_sample": counts_copy,
        "differences": differences[:10],
        "template_events": [row["kind"] for row in real["execution_events"]],
    }
