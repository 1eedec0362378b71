"""Helpers of the durability tests: real processes, deadlines, and reading the truth from the DB.

Nothing here sleeps for a fixed time to "let things happen": every wait polls a
condition until a deadline and fails loudly, with context, when the deadline passes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from support import eventually, free_port  # noqa: F401  (re-exported for the durability tests)
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.models import ExecutionEvent, FlowExecution, Job, WhatsappMessage
from threadline.sandbox.state import SandboxState

#: The ``threadline`` console script of the venv running the tests.
THREADLINE = str(Path(sys.executable).with_name("threadline"))

#: Outbox statuses that are not final.
PENDING = ("queued", "sending")


# -- processes -------------------------------------------------------------------------------


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment of a Threadline process on the test's database and secret key.

    The job lease is the default one: the crash tests measure takeover under it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(
        THREADLINE_DATABASE_URL=settings.resolved_database_url(),
        THREADLINE_SECRET_KEY=settings.secret_key,
        THREADLINE_DATA_DIR=str(settings.data_dir),
        THREADLINE_WORKER_POLL_SECONDS="0.05",
        THREADLINE_LOG_LEVEL="warning",
        THREADLINE_SANDBOX_URL=settings.sandbox_url,
    )
    env.update(extra)
    return env


def _log_file(path: Path) -> Any:
    return path.open("ab")


@dataclass
class Proc:
    """A Threadline subprocess with its log file."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def output(self) -> str:
        """Everything it printed (for assertion messages)."""
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    async def wait(self, timeout: float) -> int:
        """Its exit status; fails if it is still running after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                return await self.process.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self.name} still running after {timeout}s; output:\n{self.output()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL it (no-op if it already exited)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM it and wait for a clean exit."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def cleanup(self) -> None:
        """Make sure it is gone (for ``finally``)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()


class Processes:
    """Starts Threadline subprocesses and, in :meth:`cleanup`, kills whatever still runs."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Proc] = []

    async def start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        handle = _log_file(log)
        try:
            process = await asyncio.create_subprocess_exec(
                THREADLINE, *args, env=env, stdout=handle, stderr=subprocess.STDOUT
            )
        finally:
            handle.close()
        proc = Proc(name, process, log)
        self.started.append(proc)
        return proc

    async def worker(self, settings: Settings, *, name: str = "worker", **env: str) -> Proc:
        """``threadline worker`` on the test database."""
        return await self.start(name, ["worker"], subprocess_env(settings, **env))

    async def cleanup(self) -> None:
        for proc in self.started:
            await proc.cleanup()


# -- reading state ---------------------------------------------------------------------------


async def execution_row(resources: Resources, execution_id: str | uuid.UUID) -> FlowExecution:
    """The execution as stored right now."""
    async with resources.db.session() as session:
        statement = (
            select(FlowExecution)
            .where(FlowExecution.id == uuid.UUID(str(execution_id)))
            .execution_options(populate_existing=True)
        )
        return (await session.execute(statement)).scalar_one()


async def outbox_rows(
    resources: Resources, execution_id: str | uuid.UUID | None = None
) -> list[WhatsappMessage]:
    """Outbox rows (of one execution, or all), oldest first."""
    async with resources.db.session() as session:
        statement = select(WhatsappMessage).order_by(WhatsappMessage.id)
        if execution_id is not None:
            statement = statement.where(
                WhatsappMessage.execution_id == uuid.UUID(str(execution_id))
            )
        return list((await session.execute(statement)).scalars())


async def event_kinds(resources: Resources, execution_id: str | uuid.UUID) -> list[str]:
    """The kinds of an execution's events, in order."""
    return [e.kind for e in await events(resources, execution_id)]


async def events(resources: Resources, execution_id: str | uuid.UUID) -> list[ExecutionEvent]:
    """An execution's events, in order."""
    async with resources.db.session() as session:
        statement = (
            select(ExecutionEvent)
            .where(ExecutionEvent.execution_id == uuid.UUID(str(execution_id)))
            .order_by(ExecutionEvent.id)
        )
        return list((await session.execute(statement)).scalars())


async def jobs(resources: Resources) -> list[Job]:
    """Every job row but the conversations' inactivity timers (a day away) and the
    retention's run (queued by every worker as it starts), unrelated to the execution's
    own work."""
    from threadline.conversations.service import EXPIRE_TASK
    from threadline.retention.service import RETENTION_TASK

    async with resources.db.session() as session:
        statement = (
            select(Job)
            .where(Job.task.not_in((EXPIRE_TASK, RETENTION_TASK)))
            .order_by(Job.id)
            .execution_options(populate_existing=True)
        )
        return list((await session.execute(statement)).scalars())


def body_of(payload: dict[str, Any]) -> str:
    """The text of a send_text payload."""
    return str(payload["text"]["body"])


def sandbox_bodies(sandbox: SandboxState) -> Counter[str]:
    """How many times the sandbox accepted each message text."""
    return Counter(body_of(entry.payload) for entry in sandbox.outbox if entry.type == "text")


async def sandbox_control(sandbox_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the sandbox's control plane over HTTP (as an operator would)."""
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        response = await http.post(f"/_sandbox/{path}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def takeover_seconds(resources: Resources, died_at: float, *, timeout: float) -> float | None:
    """Seconds from a worker's death until every job it held was claimed again or settled.

    None when it held no job. ``died_at`` is a ``time.monotonic()`` reading.
    """
    held = {(j.id, j.attempts) for j in await jobs(resources) if j.status == "running"}
    if not held:
        return None

    async def taken_over() -> bool:
        now = {(j.id, j.attempts) for j in await jobs(resources) if j.status == "running"}
        return not (held & now)

    try:
        await eventually(
            taken_over, timeout=timeout, what="the dead worker's jobs to be taken over"
        )
    except AssertionError as error:
        rows = [
            (j.id, j.task, j.status, j.attempts, j.max_attempts, j.lock_key, j.lease_expires_at)
            for j in await jobs(resources)
        ]
        raise AssertionError(f"{error}; held {sorted(held)}; jobs now {rows}") from None
    return time.monotonic() - died_at
