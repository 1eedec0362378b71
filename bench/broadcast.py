"""``python -m bench.broadcast``: a broadcast's sends handed to the sandbox, as JSON.

Per backend, one ``threadline worker`` process sends a broadcast of the sandbox's seeded
``order_update`` template (its recipients added through the service, in batches of
1000, before the clock starts) to a separate ``threadline sandbox`` process:

* **unlimited**: ``--recipients`` at ``rate_per_second: 0`` (no pacing): messages the
  sandbox accepted per second, from the send to the last one accepted;
* **paced**: ``--rate`` times ``--seconds`` recipients at ``rate_per_second: --rate``: the
  rate measured at the sandbox from its first accepted send to its last, and its
  accuracy (measured / asked).

CPU seconds of the worker (and of PostgreSQL's backends) per message are reported for
both. Stdout carries only the JSON; progress goes to stderr. Recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench import fixture, procs
from bench.procs import log
from bench.report import header
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.clock import utcnow
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources
from threadline.models import Project, WhatsappTemplate
from threadline.projects import service as projects
from threadline.whatsapp_broadcasts import service as broadcasts
from threadline.whatsapp_broadcasts.schemas import BroadcastFields
from threadline.whatsapp_configs import service as configs

BODY = {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is on its way."}


async def _template(resources: Resources, project: Project, config_id: uuid.UUID) -> uuid.UUID:
    now = utcnow()
    row = WhatsappTemplate(
        project_id=project.id,
        whatsapp_config_id=config_id,
        business_account_id=SANDBOX_IDENTITY.waba_id,
        name="order_update",
        language_code="en_US",
        category="UTILITY",
        parameter_format="POSITIONAL",
        components=[BODY],
        status="approved",
        meta={},
        created_at=now,
        updated_at=now,
    )
    async with resources.db.transaction() as session:
        session.add(row)
    return row.id


async def prepare(resources: Resources) -> tuple[Project, uuid.UUID, uuid.UUID]:
    """A project on the sandbox number and the approved ``order_update`` template."""
    async with resources.db.transaction() as session:
        project = (await projects.create(session, resources.cipher, name="bench-bc")).project
        config_id = (await configs.resolve(session, project, None)).id
    return project, config_id, await _template(resources, project, config_id)


async def draft(
    resources: Resources,
    world: tuple[Project, uuid.UUID, uuid.UUID],
    count: int,
    rate: float,
    first: int,
) -> uuid.UUID:
    """A draft broadcast of ``count`` recipients (numbers from ``first``) at ``rate``/s."""
    project, config_id, template_id = world
    fields = BroadcastFields(
        name=f"bench {rate}/s",
        whatsapp_config_id=config_id,
        whatsapp_template_id=template_id,
        rate_per_second=rate,
    )
    async with resources.db.transaction() as session:
        broadcast = await broadcasts.create(session, project, fields, utcnow())
    for start in range(0, count, 1000):
        rows = [
            {"phone_number": f"+{first + i}", "template_parameters": [f"Ana {i}", f"A-{i}"]}
            for i in range(start, min(count, start + 1000))
        ]
        async with resources.db.transaction() as session:
            await broadcasts.add_recipients(
                session, project, broadcast.id, rows, utcnow(), most=100_000
            )
    return broadcast.id


async def accepted(sandbox_url: str, prefix: str) -> list[datetime]:
    """When the sandbox accepted each send to a number starting with ``prefix``."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as http:
        entries = (await http.get("/_sandbox/outbox")).json()["data"]
    return sorted(
        datetime.fromisoformat(e["received_at"]) for e in entries if e["wa_id"].startswith(prefix)
    )


async def send_and_measure(
    resources: Resources,
    project: Project,
    broadcast_id: uuid.UUID,
    expect: int,
    context: dict[str, Any],
) -> dict[str, Any]:
    """Send the broadcast and wait for ``expect`` sends at the sandbox; the measures."""
    pids = {"worker": context["worker_pid"], "sandbox": context["sandbox_pid"]}
    meter = procs.CpuMeter(pids, include_postgres=context["postgres"]).start()
    started = time.monotonic()
    async with resources.db.transaction() as session:
        await broadcasts.start(session, project, broadcast_id, utcnow())
    prefix = context["prefix"]
    moments: list[datetime] = []
    while time.monotonic() - started < context["timeout"]:
        moments = await accepted(context["sandbox_url"], prefix)
        if len(moments) >= expect:
            break
        await asyncio.sleep(0.5)
    wall = time.monotonic() - started
    span = (moments[-1] - moments[0]).total_seconds() if len(moments) > 1 else 0.0
    return {
        "messages": len(moments),
        "wall_seconds": round(wall, 2),
        "sandbox_span_seconds": round(span, 2),
        "per_s": round((len(moments) - 1) / span, 1) if span else None,
        "cpu": meter.stop(max(len(moments), 1)),
    }


async def run_backend(
    name: str, args: argparse.Namespace, workdir: Path, sandbox_url: str
) -> dict[str, Any]:
    """The unlimited run, then the paced one, on one database."""
    url = await fixture.fresh_postgres() if name == "postgresql" else fixture.sqlite_url(workdir)
    key = fixture.new_secret_key()
    resources = Resources.create(fixture.settings_for(url, workdir, key))
    await upgrade_async(url)
    world = await prepare(resources)
    paced_count = int(args.rate * args.seconds)
    fast = await draft(resources, world, args.recipients, 0, 15_560_000_000)
    paced = await draft(resources, world, paced_count, args.rate, 15_570_000_000)
    common = {"database_url": url, "secret_key": key, "data_dir": workdir}
    worker = procs.start_worker(workdir, name=f"{name}-worker", **common)
    context = {
        "worker_pid": worker.pid,
        "sandbox_pid": args.sandbox_pid,
        "sandbox_url": sandbox_url,
        "timeout": args.timeout,
        "postgres": name == "postgresql",
    }
    try:
        log(f"{name}: {args.recipients} recipients, unlimited pace")
        unlimited = await send_and_measure(
            resources, world[0], fast, args.recipients, {**context, "prefix": "1556"}
        )
        log(f"{name}: unlimited {unlimited['per_s']}/s")
        log(f"{name}: {paced_count} recipients at {args.rate}/s")
        at_rate = await send_and_measure(
            resources, world[0], paced, paced_count, {**context, "prefix": "1557"}
        )
        measured = at_rate["per_s"] or 0.0
        at_rate["asked_per_s"] = args.rate
        at_rate["accuracy"] = round(measured / args.rate, 4)
        log(f"{name}: paced {measured}/s (asked {args.rate}/s)")
        return {"unlimited": unlimited, "paced": at_rate}
    finally:
        worker.stop()
        await resources.close()
        if name == "postgresql":
            await fixture.drop_postgres()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-broadcast-"))
    report = header(
        "threadline: a broadcast's sends handed to the sandbox",
        "bench.broadcast",
        vars(args),
    )
    sandbox = procs.start_sandbox(workdir)
    try:
        await sandbox.wait_ready("/_sandbox/health")
        args.sandbox_pid = sandbox.pid
        for name in args.backend:
            backend_dir = workdir / name
            backend_dir.mkdir()
            report["backends"][name] = await run_backend(name, args, backend_dir, sandbox.url)
            async with httpx.AsyncClient(base_url=sandbox.url) as http:
                await http.delete("/_sandbox/outbox")
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--recipients", type=int, default=5000, help="of the unlimited run")
    parser.add_argument("--rate", type=float, default=80.0, help="pace of the paced run, per s")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the paced run")
    parser.add_argument("--timeout", type=float, default=600.0, help="per run, in seconds")
    parser.add_argument(
        "--pg-database",
        default="threadline_bench_broadcast",
        help="the PostgreSQL database the run (re)creates: two runs at once need two",
    )
    args = parser.parse_args(argv)
    fixture.PG_DATABASE = args.pg_database
    fixture.PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_database}"
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args(sys.argv[1:]))), indent=2))
