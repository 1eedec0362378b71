"""``python -m bench.webhooks``: event webhooks delivered to a local receiver, as JSON.

Per backend, against ``threadline serve`` (the API alone) and one ``threadline worker``,
with a subscription to ``whatsapp.message.received`` on the sandbox number pointing at a
receiver in this process (a uvicorn app that answers 200 and notes when each event came):

* **throughput**: ``--events`` signed deliveries (one message each, from ``--senders``
  conversations, since order is kept per conversation) POSTed as fast as the API takes
  them; events per second from the first POST to the last event received;
* **lag at a fixed rate**: deliveries offered open-loop at ``--rate`` per second for
  ``--seconds``; the lag is from the event's ``occurred_at`` (its fact's commit) to its
  arrival at the receiver, p50/p99.

The throughput phase also reports the CPU each process spent per event (API, worker,
this process with its receiver, and PostgreSQL's processes), and with ``--profile`` where the
API's and the worker's CPU went (py-spy, see ``bench/cpuprofile.py``; the raw stacks go
to ``bench/results/profiles/``).

Stdout carries only the JSON; progress goes to stderr. Recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import func, select

from bench import cpuprofile, fixture, procs
from bench.inbound import Poster, delivery, open_loop
from bench.procs import CpuMeter, free_port, log
from bench.report import header
from bench.run_base import PROFILE_DIR
from bench.workload import summary_ms
from threadline.kit.egress import EgressPolicy
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources
from threadline.models import WebhookDelivery
from threadline.projects import service as projects
from threadline.whatsapp_configs import service as configs
from threadline.whatsapp_webhooks import service as webhooks
from threadline.whatsapp_webhooks.schemas import WhatsappWebhookCreateFields

ALLOW_LOCAL = {"THREADLINE_EGRESS_ALLOW": "127.0.0.1/32"}


class Receiver:
    """An ASGI app that takes every POST and notes each event's lag."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.arrived = 0
        self.last_at = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self._note(json.loads(body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def _note(self, event: dict[str, Any]) -> None:
        events = event.get("data") if isinstance(event.get("data"), list) else [event]
        now = datetime.now(UTC)
        for one in events:
            self.lags.append((now - datetime.fromisoformat(one["occurred_at"])).total_seconds())
        self.arrived += len(events)
        self.last_at = time.monotonic()


async def serve(receiver: Receiver) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """The receiver on a free local port."""
    port = free_port()
    config = uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}/events"


async def prepare(url: str, resources: Resources, receiver_url: str) -> None:
    """Migrate; a project on the sandbox number whose received messages go to the receiver."""
    await upgrade_async(url)
    async with resources.db.transaction() as session:
        created = await projects.create(session, resources.cipher, name="bench-webhooks")
        config = await configs.resolve(session, created.project, None)
        fields = WhatsappWebhookCreateFields(
            url=receiver_url, secret_key="bench", events=["whatsapp.message.received"]
        )
        policy = EgressPolicy.build("127.0.0.1/32")
        await webhooks.create(session, created.project, resources.cipher, policy, config.id, fields)


async def until_arrived(receiver: Receiver, count: int, timeout: float) -> None:
    """Wait until ``count`` events have arrived (or ``timeout`` seconds passed)."""
    deadline = time.monotonic() + timeout
    while receiver.arrived < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def throughput(
    poster: Poster, receiver: Receiver, args: argparse.Namespace
) -> dict[str, Any]:
    """Events per second from the first POST to the last event in."""
    senders = [f"1555{index:07d}" for index in range(args.senders)]
    bodies = [
        delivery(senders[i % len(senders)], f"wamid.t.{i}", f"m{i}") for i in range(args.events)
    ]
    start, before = time.monotonic(), receiver.arrived
    for offset in range(0, len(bodies), 64):
        await asyncio.gather(*(poster.post(body) for body in bodies[offset : offset + 64]))
    await until_arrived(receiver, before + args.events, 300)
    got = receiver.arrived - before
    seconds = max(receiver.last_at - start, 1e-9)
    return {"events": got, "seconds": round(seconds, 2), "per_s": round(got / seconds, 1)}


async def measured_throughput(
    poster: Poster, receiver: Receiver, args: argparse.Namespace, pids: dict[str, int], name: str
) -> dict[str, Any]:
    """:func:`throughput`, with each process's CPU per event (and its profile if asked)."""
    profiler = cpuprofile.Profiler(
        enabled=args.profile, out_dir=PROFILE_DIR, prefix=f"webhooks-{name}"
    )
    profiled = {k: v for k, v in pids.items() if k in ("api", "worker")}
    meter = CpuMeter(pids, include_postgres=name == "postgresql").start()
    async with profiler.record("throughput", profiled):
        rate = await throughput(poster, receiver, args)
    rate["cpu"] = meter.stop(rate["events"])
    if profiler.summaries:
        rate["profile"] = profiler.summaries["throughput"]
    return rate


async def lag(poster: Poster, receiver: Receiver, args: argparse.Namespace) -> dict[str, Any]:
    """Lag from each event's fact to its arrival, deliveries offered open-loop at a rate."""
    count = int(args.rate * args.seconds)
    bodies = [
        delivery(f"1556{i % args.senders:07d}", f"wamid.l.{i}", f"l{i}") for i in range(count)
    ]
    receiver.lags.clear()
    before = receiver.arrived
    offered = await open_loop(poster, bodies, args.rate)
    await until_arrived(receiver, before + count, 120)
    return {
        "rate_per_s": args.rate,
        "events": len(receiver.lags),
        "lag_ms": summary_ms(receiver.lags),
        "ack_latency_ms": offered["ack_latency_ms"],
    }


async def deliveries(resources: Resources) -> dict[str, Any]:
    """The delivery log at the end: rows by status, retried ones, the commonest errors."""
    table = WebhookDelivery
    async with resources.db.read() as session:
        by_status = await session.execute(
            select(table.status, func.count(), func.max(table.attempts)).group_by(table.status)
        )
        errors = await session.execute(
            select(table.last_error, func.count())
            .where(table.last_error.is_not(None))
            .group_by(table.last_error)
            .order_by(func.count().desc())
            .limit(3)
        )
        retried = await session.execute(select(func.count()).where(table.attempts > 1))
        return {
            "by_status": {s: {"rows": n, "max_attempts": a} for s, n, a in by_status.all()},
            "retried": retried.scalar_one(),
            "errors": {str(e)[:120]: n for e, n in errors.all()},
        }


async def run_backend(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Throughput, then lag at a fixed rate, for one database."""
    url = await fixture.fresh_postgres() if name == "postgresql" else fixture.sqlite_url(workdir)
    key = fixture.new_secret_key()
    resources = Resources.create(fixture.settings_for(url, workdir, key))
    receiver = Receiver()
    server, task, receiver_url = await serve(receiver)
    await prepare(url, resources, receiver_url)
    env = {"THREADLINE_EMBEDDED_WORKER": "false", **ALLOW_LOCAL}
    common = {"database_url": url, "secret_key": key, "data_dir": workdir}
    api = procs.start_server(workdir, name=f"{name}-api", extra_env=env, **common)
    worker = procs.start_worker(workdir, name=f"{name}-worker", extra_env=ALLOW_LOCAL, **common)
    poster = Poster(api.url)
    try:
        await api.wait_ready("/health")
        log(f"{name}: throughput, {args.events} events from {args.senders} conversations")
        pids = {"api": api.pid, "worker": worker.pid, "bench_process": os.getpid()}
        rate = await measured_throughput(poster, receiver, args, pids, name)
        log(f"{name}: throughput {rate['per_s']}/s in {rate['seconds']} s")
        log(f"{name}: lag at {args.rate}/s for {args.seconds} s")
        lagged = await lag(poster, receiver, args)
        log(f"{name}: lag {lagged['lag_ms']}")
        log_rows = await deliveries(resources)
        log(f"{name}: deliveries {log_rows}")
        return {
            "throughput": rate,
            "at_rate": lagged,
            "errors": poster.errors[:5],
            "deliveries": log_rows,
        }
    finally:
        await poster.http.aclose()
        worker.stop()
        api.stop()
        server.should_exit = True
        await task
        await resources.close()
        if name == "postgresql":
            await fixture.drop_postgres()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-webhooks-"))
    report = header(
        "threadline: event webhooks to a local receiver",
        "bench.webhooks",
        vars(args),
    )
    sandbox = procs.start_sandbox(workdir)
    try:
        await sandbox.wait_ready("/_sandbox/health")
        for name in args.backend:
            backend_dir = workdir / name
            backend_dir.mkdir()
            report["backends"][name] = await run_backend(name, args, backend_dir)
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--events", type=int, default=2000, help="events of the throughput run")
    parser.add_argument("--senders", type=int, default=100, help="conversations")
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second (lag run)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the lag run")
    parser.add_argument("--profile", action="store_true", help="py-spy the API and the worker")
    parser.add_argument(
        "--pg-database",
        default="threadline_bench_webhooks",
        help="the PostgreSQL database the run (re)creates: two runs at once need two",
    )
    args = parser.parse_args(argv)
    fixture.PG_DATABASE = args.pg_database
    fixture.PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_database}"
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args(sys.argv[1:]))), indent=2))
