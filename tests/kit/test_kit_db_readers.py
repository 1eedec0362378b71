"""Read-only requests never wait for a writer, in this process or in another one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from builders import TestProject, create_project
from threadline.app import create_app
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.models import Project

BUSY_TIMEOUT_MS = 3_000

HOLD_SQLITE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE projects SET name = 'held'")
print("held", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""

# EXCLUSIVE blocks writers and row locks (SELECT ... FOR UPDATE/SHARE), not plain reads.
HOLD_POSTGRES = """
import asyncio, sys, asyncpg
async def main():
    connection = await asyncpg.connect(sys.argv[1])
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("LOCK TABLE projects, api_keys IN EXCLUSIVE MODE")
    await connection.execute("UPDATE projects SET name = 'held'")
    print("held", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await transaction.rollback()
asyncio.run(main())
"""


def _holder_command(database_url: str) -> list[str]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return [sys.executable, "-c", HOLD_SQLITE, str(url.database)]
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return [sys.executable, "-c", HOLD_POSTGRES, dsn]


@pytest.fixture
def writer_in_another_process(database_url: str) -> Iterator[None]:
    """A real process holding a write transaction (and its locks) on the test database."""
    holder = subprocess.Popen(
        _holder_command(database_url), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(timeout=15) == 0
        holder.stdout.close()


@pytest.fixture
async def impatient(settings: Settings) -> AsyncIterator[Resources]:
    """Resources whose SQLite busy timeout is short, so a blocked read shows quickly."""
    resources = Resources.create(
        settings.model_copy(update={"sqlite_busy_timeout_ms": BUSY_TIMEOUT_MS})
    )
    yield resources
    await resources.close()


@pytest.fixture
async def api(settings: Settings, impatient: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """An API client over ``impatient``."""
    transport = httpx.ASGITransport(app=create_app(settings, impatient))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def project(resources: Resources, sandbox_url: str) -> TestProject:
    """A project named "Readable"."""
    return await create_project(resources, sandbox_url, name="Readable")


async def _timed_get(api: httpx.AsyncClient, project: TestProject) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await asyncio.wait_for(
        api.get(f"/api/v1/projects/{project.id}", headers=project.headers), timeout=10
    )
    return answer, time.monotonic() - started


async def test_a_get_answers_while_another_process_holds_a_write_transaction(
    project: TestProject, api: httpx.AsyncClient, writer_in_another_process: None
) -> None:
    answer, seconds = await _timed_get(api, project)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["name"] == "Readable"
    assert seconds < BUSY_TIMEOUT_MS / 1000 / 3, f"the read waited {seconds:.2f} s for the writer"


async def test_a_get_answers_while_this_process_holds_a_write_transaction(
    project: TestProject, api: httpx.AsyncClient, impatient: Resources
) -> None:
    async with impatient.db.transaction() as session:
        await session.execute(update(Project).values(name="being written"))
        answer, seconds = await _timed_get(api, project)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["name"] == "Readable"
    assert seconds < 1.0, f"the read waited {seconds:.2f} s for the writer"


async def test_a_read_only_session_refuses_to_write(
    project: TestProject, resources: Resources
) -> None:
    async with resources.db.read() as session:
        with pytest.raises(DBAPIError):
            await session.execute(update(Project).values(name="sneaked in"))
    async with resources.db.read() as session:
        names = (await session.execute(Project.__table__.select())).all()
    assert [row.name for row in names] == ["Readable"]


def test_the_holder_script_is_a_real_process(tmp_path: Path) -> None:
    # Guards the fixture itself: the holder really blocks a second writer.
    import sqlite3

    path = tmp_path / "guard.db"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE projects (name TEXT)")
    setup.commit()
    setup.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SQLITE, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.close()
    holder.stdin.write("\n")
    holder.stdin.close()
    assert holder.wait(timeout=15) == 0
    holder.stdout.close()
