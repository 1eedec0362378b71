"""The ``threadline`` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support import SECRET_KEY, free_port

THREADLINE = str(Path(sys.executable).parent / "threadline")


def env_for(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_DATA_DIR": str(data_dir),
        "THREADLINE_SECRET_KEY": SECRET_KEY,
        **extra,
    }


def test_projects_create_prints_the_key_once_as_json(database_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [THREADLINE, "projects", "create", "--name", "Acme", "--json"],
        env=env_for(database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    created = json.loads(done.stdout)
    assert set(created) == {"project_id", "api_key"}
    assert created["api_key"].startswith("tl_")


@pytest.mark.slow
def test_serve_bootstraps_a_default_project_on_an_empty_database(tmp_path: Path) -> None:
    # Its own SQLite file: the first start must find the database empty.
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    port = free_port()
    server = subprocess.Popen(
        [THREADLINE, "serve"],
        env=env_for(url, tmp_path, THREADLINE_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "Uvicorn running" in line or len(lines) > 100:  # each migration logs two lines
                break
        output = "".join(lines)
        match = re.search(r"default project (\S+)\.\n.*API key .*: (tl_\S+)", output)
        assert match, output
        project_id, api_key = match.groups()
        saved = re.search(r"also saved to (\S+)\)", output)
        assert saved, output
        assert Path(saved.group(1)).read_text().strip() == api_key
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(
                    f"{base}/api/v1/projects/{project_id}", headers={"X-API-Key": api_key}
                )
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert answer.status_code == 200
        assert answer.json()["data"]["id"] == project_id
        assert httpx.get(f"{base}/sandbox/_sandbox/health").json()["status"] == "ok"
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)
        if server.stdout is not None:
            server.stdout.close()


@pytest.mark.slow
def test_demo_prints_the_flow_and_agent_conversations(tmp_path: Path) -> None:
    done = subprocess.run(
        [THREADLINE, "demo"], capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path
    )
    assert done.stdout.splitlines() == [
        "flow  > Hi Ada! What is your order number?",
        "user  > A-1042",
        "flow  > Thanks! Order A-1042 is on its way.",
        "user  > hi",
        "agent > Hello! I am the local test model. How can I help you today?",
        "user  > Where is order A-1042?",
        "agent > You said: Where is order A-1042?",
    ]


def test_migrate_brings_an_empty_database_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    done = subprocess.run(
        [THREADLINE, "migrate"],
        env=env_for(url, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Applied" in done.stdout
    again = subprocess.run(
        [THREADLINE, "migrate"],
        env=env_for(url, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert again.returncode == 0


@pytest.mark.slow
def test_sandbox_runs_alone_and_answers_501_for_what_it_does_not_emulate(tmp_path: Path) -> None:
    port = free_port()
    sandbox = subprocess.Popen(
        [THREADLINE, "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                health = httpx.get(f"{base}/_sandbox/health")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        sent = httpx.post(
            f"{base}/v23.0/100000000000001/messages",
            headers={"Authorization": "Bearer sandbox-token"},
            json={
                "messaging_product": "whatsapp",
                "to": "+15550001234",
                "type": "text",
                "text": {"body": "hello"},
            },
        )
        assert sent.status_code == 200
        assert sent.json()["messages"][0]["id"].startswith("wamid.")
        assert httpx.get(f"{base}/_sandbox/outbox").json()["count"] == 1
        assert httpx.post(f"{base}/v23.0/100000000000001/register").status_code == 501
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=15)
