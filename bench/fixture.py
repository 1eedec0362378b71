"""Databases, the project and the looping flow every measurement runs on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from cryptography.fernet import Fernet

from threadline.config import Settings
from threadline.flows import service as flows
from threadline.flows.schemas import FlowCreateFields
from threadline.kit.migrate import upgrade_async
from threadline.kit.resources import Resources
from threadline.models import Project
from threadline.projects import service as projects
from threadline.triggers import service as triggers
from threadline.triggers.schemas import TriggerCreateFields

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The bench's own database (``--pg-database`` of ``python -m bench`` renames it, so two
#: runs at once on one server do not drop each other's).
PG_DATABASE = "threadline_bench"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"


def use_database(name: str) -> None:
    """Make ``name`` the database that :func:`fresh_postgres` and :func:`drop_postgres` use."""
    global PG_DATABASE, PG_URL
    if not name.replace("_", "").isalnum() or name in ("test", "postgres"):
        raise ValueError(f"not a bench database name: {name!r}")
    PG_DATABASE = name
    PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


#: Seconds a wait lasts before its timer fires: long, so no timer fires during a run,
#: but set, so every wait writes its timer job as a real flow with a timeout does.
WAIT_TIMEOUT_SECONDS = 86_400


def flow_node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    """One node of a definition, as the API takes it."""
    return {"id": node_id, "type": "flow-node", "data": {"node_type": node_type, "config": config}}


def loop_definition() -> dict[str, Any]:
    """start → send "hi" → wait(x) → send "got {{vars.x}}" → back to the same wait.

    Cycles are allowed (definition_checks has no acyclicity rule; the engine's MAX_STEPS
    guards loops that never wait), so one flow serves any number of resumes.
    """
    nodes = [
        flow_node("start", "start"),
        flow_node("hi", "send_text", message="hi"),
        flow_node(
            "wait", "wait_for_response", save_response_to="x", timeout_seconds=WAIT_TIMEOUT_SECONDS
        ),
        flow_node("reply", "send_text", message="got {{vars.x}}"),
    ]
    edges = [
        {"source": "start", "target": "hi", "label": "next"},
        {"source": "hi", "target": "wait", "label": "next"},
        {"source": "wait", "target": "reply", "label": "next"},
        {"source": "reply", "target": "wait", "label": "next"},
    ]
    return {"nodes": nodes, "edges": edges}


def phone(index: int, prefix: str = "+1555") -> str:
    """A distinct E.164 number per execution (same length for every prefix)."""
    return f"{prefix}{index:07d}"


async def postgres_reachable() -> str | None:
    """None when PostgreSQL answers; otherwise why not."""
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"PostgreSQL at 127.0.0.1:5432 unreachable: {type(error).__name__}: {error}"
    await connection.close()
    return None


async def fresh_postgres(plan_cache_mode: str = "auto") -> str:
    """(Re)create the benchmark's own database (never the tests' ``test``).

    ``plan_cache_mode`` other than ``auto`` (PostgreSQL's default) is set on the database:
    ``force_custom_plan`` let trees before a3c3997 run, whose job queue wrote
    ``ON CONFLICT (dedupe_key) WHERE status = $n``; with a bound predicate PostgreSQL can
    only match the partial unique index in a custom plan, so from a prepared statement's
    6th execution on a connection it failed with "there is no unique or exclusion
    constraint matching the ON CONFLICT specification" (see docs/benchmarks.md).
    """
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        if plan_cache_mode != "auto":
            await connection.execute(
                f'ALTER DATABASE "{PG_DATABASE}" SET plan_cache_mode = {plan_cache_mode}'
            )
    finally:
        await connection.close()
    return PG_URL


async def drop_postgres() -> None:
    """Remove the benchmark database at the end."""
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    finally:
        await connection.close()


def sqlite_url(directory: Path) -> str:
    """A SQLite file in the run's temporary directory."""
    return f"sqlite+aiosqlite:///{directory / 'bench.db'}"


def new_secret_key() -> str:
    """A Fernet key shared by the bench process and the server it starts."""
    return Fernet.generate_key().decode()


def settings_for(url: str, data_dir: Path, secret_key: str) -> Settings:
    """In-process settings: no embedded worker (the bench runs its own), no sandbox."""
    return Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key=secret_key,
        embedded_worker=False,
        sandbox_enabled=False,
        log_level="warning",
    )


@dataclass(frozen=True)
class World:
    """What a run needs: a project (and its key) with an active looping flow."""

    project: Project
    api_key: str
    flow_id: uuid.UUID


async def build_world(url: str, resources: Resources, sandbox_url: str) -> World:
    """Migrate, then create a project whose default WhatsApp config is the sandbox, and a flow."""
    await upgrade_async(url)
    assert resources.settings.sandbox_graph_url() == sandbox_url, "THREADLINE_SANDBOX_URL unset"
    async with resources.db.transaction() as session:
        created = await projects.create(session, resources.cipher, name="bench")
    project = created.project
    async with resources.db.transaction() as session:
        flow = await flows.create(
            session,
            project,
            FlowCreateFields(name="loop", definition=loop_definition(), status="active"),
        )
        await triggers.create(
            session, project, flow.id, TriggerCreateFields(trigger_type="api_call")
        )
    return World(project=project, api_key=created.api_key, flow_id=flow.id)
