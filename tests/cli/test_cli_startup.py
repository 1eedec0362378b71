"""Starting Threadline as a user would: migrations, URLs, options, keys, start lines."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from support import SECRET_KEY, free_port
from threadline.kit.migrate import alembic_config

THREADLINE = str(Path(sys.executable).parent / "threadline")
POSTGRES_URL = os.environ.get("THREADLINE_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("THREADLINE_")}
    env.update(THREADLINE_DATABASE_URL=database_url, THREADLINE_DATA_DIR=str(data_dir))
    env.update(extra)
    return env


def _admin(statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


def _require_postgres() -> None:
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but THREADLINE_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL half skipped: THREADLINE_TEST_POSTGRES_URL is not set")


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test alone."""
    _require_postgres()
    name = f"{make_url(POSTGRES_URL).database}_cli_{os.getpid()}_{secrets.token_hex(3)}"
    _admin(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, never migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    yield request.getfixturevalue("fresh_postgres_url")


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _run(
    args: list[str], env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [THREADLINE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


# Item 10 and 20: concurrent migrations, and what `migrate` says it did.


@pytest.mark.slow
def test_migrates_started_together_on_a_fresh_database_all_succeed(
    fresh_url: str, tmp_path: Path
) -> None:
    starts = [
        subprocess.Popen(
            [THREADLINE, "migrate"],
            env=_env(fresh_url, tmp_path / f"host{index}", THREADLINE_SECRET_KEY=SECRET_KEY),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index in range(3)
    ]
    outputs = [start.communicate(timeout=120)[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0], "\n----\n".join(outputs)
    applied = [output for output in outputs if "Applied" in output]
    assert len(applied) == 1, outputs
    for revision in _revisions():
        assert re.search(rf"^  {re.escape(revision)}\b", applied[0], re.MULTILINE), applied[0]
    assert "up to date" not in applied[0]
    assert sum("up to date" in output for output in outputs) == 2


def test_migrate_says_what_it_applied_then_that_it_is_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    first = _run(["migrate"], _env(url, tmp_path))
    assert first.returncode == 0, first.stderr
    assert "up to date" not in first.stdout
    assert "initial schema" in first.stdout
    assert f"Applied {len(_revisions())} migration" in first.stdout
    again = _run(["migrate"], _env(url, tmp_path))
    assert again.returncode == 0, again.stderr
    assert "is up to date" in again.stdout
    assert "Applied" not in again.stdout


# Item 21: the conventional PostgreSQL URL forms.


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_migrate_accepts_the_conventional_postgresql_url(
    scheme: str, fresh_postgres_url: str, tmp_path: Path
) -> None:
    plain = make_url(fresh_postgres_url).set(drivername=scheme)
    done = _run(["migrate"], _env(plain.render_as_string(hide_password=False), tmp_path))
    assert done.returncode == 0, done.stderr
    assert "initial schema" in done.stdout


# Item 12: no per-host key file on PostgreSQL.


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_postgresql_without_a_secret_key_refuses_to_start(
    command: str, fresh_postgres_url: str, tmp_path: Path
) -> None:
    done = _run([command], _env(fresh_postgres_url, tmp_path), timeout=30)
    assert done.returncode != 0
    assert "THREADLINE_SECRET_KEY" in done.stderr
    assert "threadline secret-key" in done.stderr
    assert not (tmp_path / "secret.key").exists()


def test_secret_key_command_prints_a_fernet_key(tmp_path: Path) -> None:
    done = _run(["secret-key"], _env("", tmp_path))
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"


# Item 22: --version, serve --host/--port.


def test_version_option_prints_the_version(tmp_path: Path) -> None:
    done = _run(["--version"], _env("", tmp_path))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"threadline \d+\.\d+\.\d+\S*\n", done.stdout), done.stdout


def _serve_until_ready(args: list[str], env: dict[str, str]) -> str:
    """Start ``serve``, wait until it listens, stop it; everything it printed."""
    server = subprocess.Popen(
        [THREADLINE, "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    lines: list[str] = []
    try:
        for line in server.stdout:
            lines.append(line)
            if "Uvicorn running" in line or len(lines) > 80:
                break
    finally:
        server.terminate()
        server.wait(timeout=15)
        server.stdout.close()
    return "".join(lines)


def _key_file(output: str) -> Path:
    match = re.search(r"also saved to (\S+)\): (tl_\S+)", output)
    assert match, output
    path = Path(match.group(1))
    assert path.read_text().strip() == match.group(2)
    return path


@pytest.mark.slow
def test_serve_listens_where_its_options_say_and_logs_a_start_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'first.db'}"
    port = free_port()
    env = _env(url, tmp_path, THREADLINE_SECRET_KEY=SECRET_KEY, THREADLINE_PORT="1")
    output = _serve_until_ready(["--host", "127.0.0.1", "--port", str(port)], env)
    assert f"Uvicorn running on http://127.0.0.1:{port}" in output, output
    start = re.search(r"Threadline \S+ server starting: (.*)", output)
    assert start, output
    assert "sqlite" in start.group(1) and "first.db" in start.group(1)
    assert "lanes fast 16 slots, slow 8 slots" in start.group(1)
    assert str(_key_file(output)) in start.group(1)


@pytest.mark.slow
def test_each_database_keeps_its_own_default_api_key_file(tmp_path: Path) -> None:
    outputs = [
        _serve_until_ready(
            ["--port", str(free_port())],
            _env(
                f"sqlite+aiosqlite:///{tmp_path / name}",
                tmp_path / "data",
                THREADLINE_SECRET_KEY=SECRET_KEY,
            ),
        )
        for name in ("one.db", "two.db")
    ]
    first, second = (_key_file(output) for output in outputs)
    assert first != second
    assert first.parent == second.parent == tmp_path / "data"
    assert "one" in first.name and "two" in second.name
    assert first.read_text() != second.read_text()


# Start line of `worker`.


def test_worker_logs_a_start_line_without_the_password(database_url: str, tmp_path: Path) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="not-for-logs")  # trust auth: accepted, and must not be shown
    worker = subprocess.Popen(
        [THREADLINE, "worker"],
        env=_env(
            url.render_as_string(hide_password=False),
            tmp_path,
            THREADLINE_SECRET_KEY=SECRET_KEY,
            THREADLINE_WORKER_CONCURRENCY="3",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert worker.stdout is not None
    try:
        ready, _, _ = select.select([worker.stdout], [], [], 20)
        line = worker.stdout.readline() if ready else "(nothing within 20 s)"
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        worker.stdout.close()
    assert re.search(r"Threadline \S+ worker starting: ", line), line
    assert f"database {url.get_backend_name()}" in line
    assert str(url.database).split("/")[-1] in line
    assert "lanes fast 3 slots" in line
    assert "THREADLINE_SECRET_KEY" in line
    assert "not-for-logs" not in line
