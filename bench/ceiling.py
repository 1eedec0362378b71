"""The commit ceiling of this PostgreSQL: pgbench with transactions shaped like Threadline's.

Run against the bench's own database (never ``test``), on scratch tables in the schema
``bench_ceiling``: ``CREATE TABLE … (LIKE public.<table> INCLUDING ALL)`` of the migrated
``flow_executions``, ``execution_events``, ``whatsapp_messages`` and ``jobs`` (same
columns, defaults, CHECK constraints and indexes, each with its own id sequence), plus
the ``execution_id`` foreign keys of events and messages; the ones to projects and
conversations are left out. The schema is dropped afterwards and a CHECKPOINT written,
so the phases measured after it start from the same state as without it.

Shapes, each at 1, 8 and 32 clients for a few seconds, with ``-M prepared`` (as asyncpg):

* ``resume_shaped``: one cycle in one transaction, the ideal of issue 7. UPDATE one
  execution row by primary key with a real compare-and-set on ``step_seq`` (each client
  owns its rows and knows the value it expects; a miss aborts the run), INSERT 7 event
  rows, INSERT 1 outbox row, DELETE the job row this client inserted in its previous
  transaction and INSERT the next one.
* ``insert_one``: ``BEGIN; INSERT`` one event row ``; COMMIT``: the durable-commit floor.
* ``select_one``: ``BEGIN; SELECT 1; COMMIT``: round trips only, no WAL flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.procs import CpuMeter, log
from bench.workload import percentile

PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"
SCHEMA = "bench_ceiling"
TABLES = ("flow_executions", "execution_events", "whatsapp_messages", "jobs")
CLIENT_LEVELS = (1, 8, 32)
#: Execution rows of the scratch table; every client level divides it, so each client
#: owns ``ROWS / clients`` rows and cycles through them.
ROWS = 1024
SETTINGS = (
    "server_version",
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "commit_delay",
    "shared_buffers",
    "max_connections",
)

_EVENT = (
    "(md5('project')::uuid, md5(:n::text)::uuid, '{kind}', '{node}', now(), {duration}, "
    '\'{{"seq": 1, "input": "r1"}}\')'
)
_EVENTS = ",\n  ".join(
    _EVENT.format(kind=kind, node=node, duration=duration)
    for kind, node, duration in (
        ("resumed", "wait", "NULL"),
        ("step_left", "wait", "3"),
        ("step_entered", "reply", "NULL"),
        ("message_queued", "reply", "NULL"),
        ("step_left", "reply", "1"),
        ("step_entered", "wait", "NULL"),
        ("waiting", "wait", "NULL"),
    )
)

SCRIPTS = {
    "resume_shaped": f"""\\set i :i + 1
\\set n 1 + :client_id + :clients * (:i % :per_client)
\\set seq :i / :per_client
BEGIN;
UPDATE {SCHEMA}.flow_executions SET step_seq = step_seq + 1, status = 'waiting',
  current_node_id = 'wait', wait_reason = 'response', wait_until = now() + interval '1 day',
  variables = jsonb_build_object('x', 'r' || :i), last_event_at = now()
  WHERE id = md5(:n::text)::uuid AND status = 'waiting' AND step_seq = :seq
  RETURNING step_seq AS new_seq
\\gset
INSERT INTO {SCHEMA}.execution_events (project_id, execution_id, kind, node_id, at,
  duration_ms, data) VALUES {_EVENTS};
INSERT INTO {SCHEMA}.whatsapp_messages (project_id, direction, execution_id, node_id,
  phone_number, message_type, content, payload, status, attempts, created_at)
  VALUES (md5('project')::uuid, 'outbound', md5(:n::text)::uuid, 'reply', '+15550000001',
  'text', 'got r1', '{{"type": "text", "text": {{"body": "got r1"}},
  "messaging_product": "whatsapp", "to": "15550000001"}}', 'pending', 0, now());
DELETE FROM {SCHEMA}.jobs WHERE id = :job_id;
INSERT INTO {SCHEMA}.jobs (project_id, task, payload, status, run_at, attempts,
  max_attempts, lock_key, created_at)
  VALUES (md5('project')::uuid, 'messaging.deliver',
  jsonb_build_object('execution_id', md5(:n::text)),
  'queued', now(), 0, 10, 'execution:' || md5(:n::text), now())
  RETURNING id AS job_id
\\gset
COMMIT;
""",
    "insert_one": f"""BEGIN;
INSERT INTO {SCHEMA}.execution_events (project_id, execution_id, kind, node_id, at,
  duration_ms, data)
  VALUES (md5('project')::uuid, md5('1')::uuid, 'step_entered', 'wait', now(), NULL,
  '{{"seq": 1}}');
COMMIT;
""",
    "select_one": "BEGIN;\nSELECT 1;\nCOMMIT;\n",
}


def _admin_dsn(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


async def _setup(conn: Any) -> None:
    """The scratch schema: tables like the migrated ones, ``ROWS`` waiting executions."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
    for table in TABLES:
        await conn.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
        # LIKE copies ``nextval('public.<table>_id_seq')``: give each its own sequence.
        serial = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
            "AND table_name = $2 AND column_default LIKE 'nextval(%'",
            SCHEMA,
            table,
        )
        for row in serial:
            column, sequence = row["column_name"], f"{SCHEMA}.{table}_{row['column_name']}_seq"
            await conn.execute(
                f"CREATE SEQUENCE {sequence} OWNED BY {SCHEMA}.{table}.{column}; "
                f"ALTER TABLE {SCHEMA}.{table} ALTER COLUMN {column} "
                f"SET DEFAULT nextval('{sequence}')"
            )
    for table, on_delete in (("execution_events", "CASCADE"), ("whatsapp_messages", "SET NULL")):
        await conn.execute(
            f"ALTER TABLE {SCHEMA}.{table} ADD FOREIGN KEY (execution_id) "
            f"REFERENCES {SCHEMA}.flow_executions (id) ON DELETE {on_delete}"
        )
    await conn.execute(
        f"INSERT INTO {SCHEMA}.flow_executions (id, project_id, flow_id, flow_version_id, "
        "tracking_id, phone_number, status, current_node_id, step_seq, wait_reason, "
        "wait_until, variables, context, system, started_at, last_event_at) "
        "SELECT md5(n::text)::uuid, md5('project')::uuid, md5('flow')::uuid, "
        "md5('version')::uuid, gen_random_uuid(), '+1555' || lpad(n::text, 7, '0'), "
        "'waiting', 'wait', 0, 'response', now() + interval '1 day', '{\"x\": \"r0\"}', "
        '\'{"trigger": {"type": "api_call"}}\', jsonb_build_object(\'phone_number\', '
        "'+1555' || lpad(n::text, 7, '0'), 'whatsapp_config_id', md5('config')::uuid, "
        "'flow_name', 'loop', 'started_by', 'api'), now(), now() "
        f"FROM generate_series(1, {ROWS}) AS n"
    )


async def _reset(conn: Any) -> None:
    """Every execution back to ``step_seq`` 0 (clients count from there), then vacuumed."""
    await conn.execute(f"UPDATE {SCHEMA}.flow_executions SET step_seq = 0")
    for table in TABLES:
        await conn.execute(f"VACUUM ANALYZE {SCHEMA}.{table}")


def _parse(stdout: str) -> dict[str, Any]:
    patterns = {
        "tps": r"^tps = ([\d.]+) \(without initial connection time\)",
        "latency_avg_ms": r"^latency average = ([\d.]+) ms",
        "transactions": r"^number of transactions actually processed: (\d+)",
        "failed": r"^number of failed transactions: (\d+)",
    }
    out: dict[str, Any] = {}
    for key, pattern in patterns.items():
        if match := re.search(pattern, stdout, re.MULTILINE):
            number = float(match.group(1))
            out[key] = int(number) if key in ("transactions", "failed") else number
    return out


def _log_latencies(prefix: Path) -> list[float]:
    """Per-transaction latencies (seconds) from pgbench's ``--log`` files, then removed."""
    seconds: list[float] = []
    for path in prefix.parent.glob(prefix.name + ".*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                seconds.append(int(fields[2]) / 1e6)
        path.unlink()
    return seconds


async def _pgbench(
    database: str, shape: str, clients: int, seconds: float, workdir: Path
) -> dict[str, Any]:
    """One pgbench run; tps, latency percentiles and the CPU of PostgreSQL and pgbench."""
    script = workdir / f"ceiling-{shape}.sql"
    script.write_text(SCRIPTS[shape])
    prefix = workdir / f"pgbench-{shape}-{clients}"
    # One thread per client: pgbench stamps the clients of one thread with a shared clock
    # reading, which at 32 clients on 2 threads logs most latencies as 0.
    argv = [
        PGBENCH, "-n", "-M", "prepared", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres",
        "-c", str(clients), "-j", str(clients),
        "-T", str(max(1, round(seconds))), "-f", str(script),
        "-D", "i=-1", "-D", "job_id=0", "-D", f"clients={clients}",
        "-D", f"per_client={ROWS // clients}",
        "--log", f"--log-prefix={prefix}", database,
    ]  # fmt: skip
    meter = CpuMeter({}, include_postgres=True).start()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=workdir
    )
    stdout, stderr = await process.communicate()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = _parse(stdout.decode())
    cpu = meter.stop(result.get("transactions", 0))
    latencies = _log_latencies(prefix)
    pgbench_cpu = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    transactions = result.get("transactions") or 0
    result |= {
        "clients": clients,
        "latency_ms": {
            "p50": _ms(percentile(latencies, 50)),
            "p99": _ms(percentile(latencies, 99)),
            "max": _ms(max(latencies) if latencies else None),
        },
        "postgres_cpu_ms_per_tx": _per_op(cpu, "postgres"),
        "pgbench_cpu_ms_per_tx": round(1000 * pgbench_cpu / transactions, 3)
        if transactions
        else None,
        "machine_busy_pct": cpu.get("machine_busy_pct"),
    }
    if process.returncode != 0:
        result["error"] = f"pgbench exit {process.returncode}: {stderr.decode()[-400:]}"
    return result


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


async def measure(database: str, workdir: Path, *, seconds: float) -> dict[str, Any]:
    """Every shape at every client level; the scratch schema is dropped afterwards."""
    conn = await asyncpg.connect(_admin_dsn(database), timeout=10)
    began = time.perf_counter()
    report: dict[str, Any] = {
        "what": __doc__.split("\n\n")[0] if __doc__ else "",
        "database": database,
        "tables": f"scratch schema {SCHEMA}: LIKE public.<table> INCLUDING ALL of "
        f"{', '.join(TABLES)}, plus the execution_id foreign keys of events and messages "
        f"(not those to projects or conversations); {ROWS} waiting executions",
        "pgbench": {"path": PGBENCH, "query_mode": "prepared", "seconds_each": seconds},
        "settings": {},
        "cpu_note": "postgres_cpu_ms_per_tx counts every PostgreSQL process of the server "
        "(other databases' too); machine_busy_pct is the whole machine's",
        "shapes": {},
    }
    try:
        for setting in SETTINGS:
            report["settings"][setting] = await conn.fetchval(f"SHOW {setting}")
        await _setup(conn)
        for shape in SCRIPTS:
            levels: dict[str, Any] = {}
            for clients in CLIENT_LEVELS:
                await _reset(conn)
                levels[str(clients)] = run = await _pgbench(
                    database, shape, clients, seconds, workdir
                )
                log(
                    f"ceiling {shape} x{clients}: {run.get('tps')} tps, "
                    f"p50 {run['latency_ms']['p50']} ms, p99 {run['latency_ms']['p99']} ms"
                )
            report["shapes"][shape] = levels
    finally:
        with contextlib.suppress(Exception):
            await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            await conn.execute("CHECKPOINT")
        await conn.close()
    report["best_tps"] = {
        shape: max((run.get("tps") or 0.0) for run in levels.values())
        for shape, levels in report["shapes"].items()
    }
    report["duration_s"] = round(time.perf_counter() - began, 1)
    return report


def _per_op(cpu: dict[str, Any], name: str) -> float | None:
    entry = cpu.get(name)
    return entry.get("cpu_ms_per_op") if isinstance(entry, dict) else None


def fractions(ceiling: dict[str, Any], backend: dict[str, Any]) -> dict[str, Any]:
    """Each measured cycle rate as a fraction of the ceiling, one cycle and its commits.

    ``of_resume_shaped_tps``: cycles/s over the best resume-shaped tps (one transaction
    per cycle, the ideal). ``of_insert_one_tps``: the commits/s the cycles cost (commits
    per cycle as counted in-process; the HTTP paths run the same services) over the best
    single-row commit rate.
    """
    best = ceiling.get("best_tps", {})
    resume_tps, insert_tps = best.get("resume_shaped"), best.get("insert_one")
    inprocess = backend.get("resumes_per_second_inprocess", {})
    commits = inprocess.get("sql_per_cycle", {}).get("commits")
    measured = {}
    for key in sorted(k for k in backend if k.startswith("resumes_per_second")):
        rate = backend[key].get("value")
        if not rate:
            continue
        used = rate * commits if commits else None
        measured[key] = {
            "cycles_per_s": rate,
            "of_resume_shaped_tps": round(rate / resume_tps, 3) if resume_tps else None,
            "commits_per_s": round(used, 1) if used else None,
            "of_insert_one_tps": round(used / insert_tps, 3) if used and insert_tps else None,
        }
    return {
        "commits_per_cycle_inprocess": commits,
        "best_resume_shaped_tps": resume_tps,
        "best_insert_one_tps": insert_tps,
        "measured": measured,
    }
