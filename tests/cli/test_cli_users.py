"""``threadline users``: a project's people, made, listed and removed from the shell."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli.test_cli import THREADLINE, env_for


def _run(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [THREADLINE, *args],
        env=env_for(database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_users_are_created_listed_refused_twice_and_removed(
    database_url: str, tmp_path: Path
) -> None:
    made = _run(database_url, tmp_path, "projects", "create", "--name", "People", "--json")
    project = json.loads(made.stdout)["project_id"]
    user = ["users", "create", "--project", project, "--name", "Ana", "--json"]

    created = _run(database_url, tmp_path, *user, "--email", " Ana@Example.com ")
    assert created.returncode == 0, created.stderr
    ana = json.loads(created.stdout)
    assert ana["email"] == "ana@example.com" and ana["name"] == "Ana"
    twice = _run(database_url, tmp_path, *user, "--email", "ana@example.com")
    assert twice.returncode == 1 and "already has ana@example.com" in twice.stderr
    bad = _run(database_url, tmp_path, *user, "--email", "not-an-email")
    assert bad.returncode == 1 and "is not an email address" in bad.stderr

    listed = _run(database_url, tmp_path, "users", "list", "--project", project, "--json")
    assert [u["id"] for u in json.loads(listed.stdout)] == [ana["id"]]
    key = ["users", "key", "--project", project, "--json", "--user"]
    issued = _run(database_url, tmp_path, *key, "ana@example.com")
    assert issued.returncode == 0, issued.stderr
    assert json.loads(issued.stdout)["user_id"] == ana["id"]
    assert json.loads(issued.stdout)["api_key"].startswith("tl_")
    nobody = _run(database_url, tmp_path, *key, "nobody@example.com")
    assert nobody.returncode == 1 and "no user 'nobody@example.com'" in nobody.stderr
    gone = _run(
        database_url, tmp_path, "users", "remove", "--project", project, "--user", ana["id"]
    )
    assert gone.returncode == 0, gone.stderr
    listed = _run(database_url, tmp_path, "users", "list", "--project", project, "--json")
    assert json.loads(listed.stdout) == []


def test_an_unknown_project_is_said_so(database_url: str, tmp_path: Path) -> None:
    args = ["users", "list", "--project", "00000000-0000-0000-0000-000000000000"]
    missing = _run(database_url, tmp_path, *args)
    assert missing.returncode == 1 and "no project" in missing.stderr
    garbled = _run(database_url, tmp_path, "users", "list", "--project", "acme")
    assert garbled.returncode == 1 and "is not a project id" in garbled.stderr
