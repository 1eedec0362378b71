"""``python -m bench.inbound``: the WhatsApp channel's inbound path, as one JSON object.

Measurements per backend, against ``threadline serve`` (the API alone), a ``threadline
worker`` and a separate sandbox process, with deliveries signed and shaped as Meta sends them:

* **ingest**: deliveries POSTed to ``/webhooks/whatsapp`` at a fixed open-loop rate,
  to the API with no worker running (what Meta waits for); time to the 200 (p50/p99,
  from each request's scheduled time); then a worker process starts and processes them
  (each one resumes an echo flow and sends its reply): messages per second;
* **reply latency**: one message at a time to a waiting echo flow; time from the POST
  to the flow's reply arriving in the sandbox (the Graph send), p50/p99;
* **inbound cycles**: with the API and the worker running, every conversation sends
  its next message as soon as the echo of the last one is in the sandbox outbox
  (signed webhook → flow resumed → reply delivered); cycles per second, a cycle counted
  when its reply is in the outbox;
* **at half that rate**: deliveries offered open-loop at half the cycle rate, round
  robin over the conversations; time to the 200 and to the reply (from each one's
  scheduled time), p50/p99.

Stdout carries only the JSON; progress goes to stderr. Recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench import fixture, procs
from bench.procs import log
from bench.report import header
from bench.workload import Sandbox, summary_ms
from threadline.config import SANDBOX_IDENTITY
from threadline.flows import service as flows
from threadline.flows.schemas import FlowCreateFields
from threadline.inbound.signature import sign
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage
from threadline.projects import service as projects
from threadline.triggers import service as triggers
from threadline.triggers.schemas import TriggerCreateFields


def echo_definition() -> dict[str, Any]:
    """start → wait(x) → send "echo {{vars.x}}" → back to the wait: one flow per sender."""
    node = fixture.flow_node
    nodes = [
        node("start", "start"),
        node("wait", "wait_for_response", save_response_to="x", timeout_seconds=86_400),
        node("echo", "send_text", message="echo {{vars.x}}"),
    ]
    edges = [
        {"source": "start", "target": "wait", "label": "next"},
        {"source": "wait", "target": "echo", "label": "next"},
        {"source": "echo", "target": "wait", "label": "next"},
    ]
    return {"nodes": nodes, "edges": edges}


def delivery(sender: str, wamid: str, text: str) -> bytes:
    """One text message as Meta delivers it, to the sandbox number."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": SANDBOX_IDENTITY.display_phone_number.lstrip("+"),
            "phone_number_id": SANDBOX_IDENTITY.phone_number_id,
        },
        "contacts": [{"profile": {"name": "Bench"}, "wa_id": sender}],
        "messages": [
            {
                "from": sender,
                "id": wamid,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": SANDBOX_IDENTITY.waba_id, "changes": [{"field": "messages", "value": value}]}
        ],
    }
    return json.dumps(body).encode()


class Poster:
    """Signs and POSTs deliveries, counting failures."""

    def __init__(self, url: str) -> None:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        self.http = httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits)
        self.errors: list[str] = []

    async def post(self, body: bytes) -> bool:
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body, SANDBOX_IDENTITY.app_secret),
        }
        try:
            response = await self.http.post("/webhooks/whatsapp", content=body, headers=headers)
        except httpx.HTTPError as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            return False
        if response.status_code != 200:
            self.errors.append(f"{response.status_code}: {response.text[:200]}")
            return False
        return True


async def open_loop(poster: Poster, bodies: list[bytes], rate: float) -> dict[str, Any]:
    """POST ``bodies`` at ``rate`` per second; latency from each one's scheduled time."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []

    async def one(body: bytes, scheduled: float) -> None:
        if await poster.post(body):
            latencies.append(loop.time() - scheduled)

    origin = loop.time() + 0.05
    tasks = []
    for index, body in enumerate(bodies):
        scheduled = origin + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(body, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - origin
    return {
        "target_rate_per_s": rate,
        "achieved_rate_per_s": round(len(bodies) / elapsed, 1),
        "deliveries": len(bodies),
        "errors": len(poster.errors),
        "ack_latency_ms": summary_ms(latencies),
    }


async def pending(resources: Resources) -> int:
    """Inbound messages not processed yet."""
    async with resources.db.session() as session:
        statement = select(func.count()).where(
            WhatsappMessage.direction == "inbound", WhatsappMessage.processing_status == "pending"
        )
        return int((await session.execute(statement)).scalar_one())


async def unsent(resources: Resources) -> int:
    """Outbound messages (the echoes) not sent yet."""
    async with resources.db.session() as session:
        statement = select(func.count()).where(
            WhatsappMessage.direction == "outbound",
            WhatsappMessage.status.in_(("queued", "sending")),
        )
        return int((await session.execute(statement)).scalar_one())


async def drain(resources: Resources, timeout: float) -> float:
    """Seconds until every stored inbound message is processed."""
    started = time.perf_counter()
    while await pending(resources):
        if time.perf_counter() - started > timeout:
            raise TimeoutError("inbound messages still pending")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def reply_latency(
    poster: Poster, sandbox: Sandbox, senders: list[str], rounds: int
) -> dict[str, Any]:
    """One message at a time; from the POST to its echo in the sandbox outbox."""
    seconds = []
    for index in range(rounds):
        sender = senders[index % len(senders)]
        token = f"r{index}"
        since = datetime.now(UTC)
        began = time.time()
        await poster.post(delivery(sender, f"wamid.reply.{index}", token))
        seconds.append(await _echo_arrival(sandbox, since, f"echo {token}") - began)
    return summary_ms(seconds)


async def _echo_arrival(sandbox: Sandbox, since: datetime, text: str) -> float:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for entry in await sandbox.outbox_since(since):
            if entry.get("payload", {}).get("text", {}).get("body") == text:
                stamp = entry["received_at"].replace("Z", "+00:00")
                return datetime.fromisoformat(stamp).timestamp()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"no {text!r} in the sandbox outbox")


class OutboxWatcher:
    """Polls the sandbox outbox and tells each waiter when its text arrived (wall clock)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.since = datetime.now(UTC)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.since = datetime.now(UTC)
        self.task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def wait(self, text: str, timeout: float = 60) -> float:
        if text in self.arrived:
            return self.arrived[text]
        waiter = self.waiters.setdefault(text, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), timeout)

    async def _poll(self) -> None:
        while True:
            for entry in await self.sandbox.outbox_since(self.since):
                text = entry.get("payload", {}).get("text", {}).get("body")
                stamp = datetime.fromisoformat(entry["received_at"].replace("Z", "+00:00"))
                self.since = max(self.since, stamp)
                if isinstance(text, str) and text not in self.arrived:
                    self.arrived[text] = stamp.timestamp()
                    waiter = self.waiters.pop(text, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(stamp.timestamp())
            await asyncio.sleep(0.005)


async def cycles(
    poster: Poster, watcher: OutboxWatcher, senders: list[str], seconds: float
) -> dict[str, Any]:
    """Closed loop: each conversation sends its next message once the last one's echo came."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    stop = began + seconds
    done = 0

    async def conversation(index: int, sender: str) -> None:
        nonlocal done
        turn = 0
        while loop.time() < stop:
            token = f"c{index}.{turn}"
            turn += 1
            if await poster.post(delivery(sender, f"wamid.cycle.{index}.{turn}", token)):
                await watcher.wait(f"echo {token}")
                done += 1

    await asyncio.gather(*(conversation(i, s) for i, s in enumerate(senders)))
    elapsed = loop.time() - began
    return {
        "conversations": len(senders),
        "seconds": round(elapsed, 2),
        "cycles": done,
        "per_s": round(done / elapsed, 1),
    }


async def at_rate(
    poster: Poster, watcher: OutboxWatcher, senders: list[str], rate: float, seconds: float
) -> dict[str, Any]:
    """Open loop at ``rate``: time to the 200 and to the reply, from each scheduled time."""
    loop = asyncio.get_running_loop()
    count = max(1, int(rate * seconds))
    acks: list[float] = []
    replies: list[float] = []
    origin_loop, origin_wall = loop.time() + 0.05, time.time() + 0.05

    async def one(index: int) -> None:
        token = f"h{index}"
        body = delivery(senders[index % len(senders)], f"wamid.half.{index}", token)
        if await poster.post(body):
            acks.append(loop.time() - (origin_loop + index / rate))
            arrived = await watcher.wait(f"echo {token}")
            replies.append(arrived - (origin_wall + index / rate))

    tasks = []
    for index in range(count):
        delay = origin_loop + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return {
        "rate_per_s": round(rate, 1),
        "deliveries": count,
        "ack_latency_ms": summary_ms(acks),
        "reply_latency_ms": summary_ms(replies),
    }


async def prepare(url: str, resources: Resources) -> None:
    """Migrate; a project on the sandbox number with an echo flow any message starts."""
    await upgrade_async(url)
    async with resources.db.transaction() as session:
        created = await projects.create(session, resources.cipher, name="bench-inbound")
        flow = await flows.create(
            session,
            created.project,
            FlowCreateFields(name="echo", definition=echo_definition(), status="active"),
        )
        fields = TriggerCreateFields(trigger_type="inbound_message")
        await triggers.create(session, created.project, flow.id, fields)


class Deployment:
    """``threadline serve`` without its worker (the API alone), and a separate worker."""

    def __init__(self, name: str, url: str, key: str, workdir: Path) -> None:
        self.name, self.url, self.key, self.workdir = name, url, key, workdir
        alone = {"THREADLINE_EMBEDDED_WORKER": "false"}
        self.server = procs.start_server(
            workdir,
            database_url=url,
            secret_key=key,
            data_dir=workdir,
            name=f"{name}-api",
            extra_env=alone,
        )
        self.worker: procs.Child | None = None

    def start_worker(self) -> None:
        """The worker that processes the inbox (started and stopped between phases)."""
        self.worker = procs.start_worker(
            self.workdir,
            database_url=self.url,
            secret_key=self.key,
            data_dir=self.workdir,
            name=f"{self.name}-worker",
        )

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def stop(self) -> None:
        self.stop_worker()
        self.server.stop()


async def run_backend(
    name: str, args: argparse.Namespace, sandbox: procs.Child, workdir: Path
) -> dict[str, Any]:
    """Acknowledgement with no worker running, then processing, then reply latency."""
    url = await fixture.fresh_postgres() if name == "postgresql" else fixture.sqlite_url(workdir)
    key = fixture.new_secret_key()
    resources = Resources.create(fixture.settings_for(url, workdir, key))
    await prepare(url, resources)
    deployment = Deployment(name, url, key, workdir)
    poster = Poster(deployment.server.url)
    sandbox_client = Sandbox(sandbox.url)
    try:
        await deployment.server.wait_ready("/health")
        senders = [f"1555{index:07d}" for index in range(args.senders)]
        deployment.start_worker()
        log(f"{name}: starting {len(senders)} conversations")
        for index, sender in enumerate(senders):
            await poster.post(delivery(sender, f"wamid.start.{index}", "start"))
        await drain(resources, 120)
        deployment.stop_worker()
        count = int(args.rate * args.seconds)
        bodies = [
            delivery(senders[i % len(senders)], f"wamid.load.{i}", f"m{i}") for i in range(count)
        ]
        log(f"{name}: ingest, {count} deliveries at {args.rate}/s, no worker running")
        ingest = await open_loop(poster, bodies, args.rate)
        log(f"{name}: ingest {ingest}")
        deployment.start_worker()
        drained = await drain(resources, 600)
        processing = {"messages": count, "seconds": round(drained, 2)}
        processing["per_s"] = round(count / drained, 1) if drained else None
        log(f"{name}: processing {processing}")
        # The echoes of the backlog are still being sent: a reply measured now would
        # wait behind them (the maxima of earlier runs, seconds long).
        settle_by = time.monotonic() + 300
        while await unsent(resources) and time.monotonic() < settle_by:
            await asyncio.sleep(0.1)
        await sandbox_client.clear()
        log(f"{name}: reply latency, {args.replies} messages one at a time")
        reply = await reply_latency(poster, sandbox_client, senders, args.replies)
        log(f"{name}: reply {reply}")
        watcher = OutboxWatcher(sandbox_client)
        watcher.start()
        log(f"{name}: inbound cycles, {len(senders)} conversations, {args.cycle_seconds} s")
        cycled = await cycles(poster, watcher, senders, args.cycle_seconds)
        log(f"{name}: cycles {cycled}")
        half = await at_rate(poster, watcher, senders, cycled["per_s"] / 2, args.cycle_seconds)
        log(f"{name}: at half the cycle rate {half}")
        await watcher.stop()
        return {
            "ingest": ingest,
            "processing": processing,
            "reply_latency_ms": reply,
            "inbound_cycles": cycled,
            "at_half_cycle_rate": half,
            "errors": poster.errors[:5],
        }
    finally:
        await poster.http.aclose()
        await sandbox_client.close()
        deployment.stop()
        await resources.close()
        if name == "postgresql":
            await fixture.drop_postgres()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="threadline-bench-inbound-"))
    report = header(
        "threadline: webhook ingest and inbound-to-reply latency",
        "bench.inbound",
        vars(args) | {"flow": "start -> wait(x) -> send 'echo {{vars.x}}' -> wait"},
    )
    sandbox = procs.start_sandbox(workdir)
    try:
        await sandbox.wait_ready("/_sandbox/health")
        for name in args.backend:
            backend_dir = workdir / name
            backend_dir.mkdir()
            report["backends"][name] = await run_backend(name, args, sandbox, backend_dir)
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound", description=__doc__)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rate", type=float, default=500.0, help="deliveries per second")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the ingest run")
    parser.add_argument("--senders", type=int, default=100, help="conversations")
    parser.add_argument("--replies", type=int, default=100, help="reply-latency samples")
    parser.add_argument(
        "--cycle-seconds", type=float, default=10.0, help="length of the cycle and half-rate runs"
    )
    parser.add_argument(
        "--pg-database",
        default="threadline_bench_inbound",
        help="the PostgreSQL database the run (re)creates: two runs at once need two",
    )
    args = parser.parse_args(argv)
    fixture.PG_DATABASE = args.pg_database  # read by fixture.fresh_postgres/drop_postgres
    fixture.PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_database}"
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args(sys.argv[1:]))), indent=2))
