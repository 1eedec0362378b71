"""``serve``, ``worker``, ``migrate``, ``sandbox`` and ``model-server``: the long-running
commands."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer
import uvicorn

from threadline.cli import startup
from threadline.config import SANDBOX_IDENTITY, Settings, get_settings
from threadline.kit import migrate as migrations
from threadline.kit.crypto import new_secret_key
from threadline.kit.logs import configure_logging
from threadline.kit.resources import Resources
from threadline.projects import service as projects


def _lanes(settings: Settings) -> str:
    return (
        f"lanes fast {settings.worker_concurrency} slots, slow "
        f"{settings.worker_slow_concurrency} slots, model {settings.worker_model_concurrency} slots"
    )


def _logging(settings: Settings) -> None:
    configure_logging(settings)


def _prepare(settings: Settings) -> list[migrations.AppliedMigration]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return migrations.upgrade(settings.resolved_database_url())


async def _bootstrap(settings: Settings) -> str | None:
    resources = Resources.create(settings)
    try:
        async with resources.db.transaction() as session:
            created = await projects.bootstrap(session, resources.cipher)
    finally:
        await resources.close()
    return None if created is None else f"{created.project.id} {created.api_key}"


def _announce(settings: Settings, created: str) -> None:
    project_id, api_key = created.split(" ")
    key_file = startup.api_key_file(settings)
    key_file.write_text(api_key + "\n")
    key_file.chmod(0o600)
    typer.echo(f"Created the default project {project_id}.")
    typer.echo(f"Its API key (shown once; also saved to {key_file}): {api_key}")


def serve(
    host: str | None = typer.Option(None, help="Address to bind (or THREADLINE_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (or THREADLINE_PORT)."),
) -> None:
    """Run the API, an embedded worker and the WhatsApp sandbox in one process."""
    from threadline.app import create_app

    overrides = {"host": host, "port": port}
    settings = get_settings().model_copy(
        update={name: value for name, value in overrides.items() if value is not None}
    )
    _logging(settings)
    startup.require_secret_key_or_exit(settings)
    worker_line = (
        f"embedded worker, {_lanes(settings)}" if settings.embedded_worker else "no embedded worker"
    )
    startup.log_start(
        "server", settings, worker_line, f"API key file {startup.api_key_file(settings)}"
    )
    startup.report_migrations(settings, _prepare(settings))
    created = asyncio.run(_bootstrap(settings))
    if created:
        _announce(settings, created)
    typer.echo(
        f"Threadline on {settings.base_url()}  (docs: {settings.base_url()}/docs, "
        f"sandbox outbox: {settings.base_url()}/sandbox/_sandbox/outbox)"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # threadline.access logs each request (kit/observe.py)
        log_config=None,  # keep configure_logging's handler and format
    )


async def _run_worker(settings: Settings) -> None:
    from threadline.jobs.worker import Worker
    from threadline.kit import config_cache
    from threadline.kit.metrics import serve_worker_metrics
    from threadline.llm.client import load_providers
    from threadline.tasks import load_tasks, schedule_maintenance

    load_tasks()
    load_providers()
    config_cache.configure(settings.config_cache_seconds)
    resources = Resources.create(settings, api=False)
    serve_worker_metrics(settings)
    await schedule_maintenance(resources)
    worker = Worker(resources)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        await resources.close()


def worker() -> None:
    """Run a worker process alone (as many as you like, on PostgreSQL)."""
    settings = get_settings()
    _logging(settings)
    startup.require_secret_key_or_exit(settings)
    startup.log_start("worker", settings, _lanes(settings))
    _run_on_fastest_loop(_run_worker(settings))


def _run_on_fastest_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (it comes with uvicorn[standard] on Linux and macOS), as
    uvicorn uses for the server; else the standard loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def migrate() -> None:
    """Bring the database schema up to date."""
    settings = get_settings()
    startup.report_migrations(settings, _prepare(settings))


def secret_key() -> None:
    """Print a new key for THREADLINE_SECRET_KEY (share it between all your hosts)."""
    typer.echo(new_secret_key())


def sandbox(
    port: int = typer.Option(8001, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    webhook_url: str | None = typer.Option(
        None, help="Where to POST signed webhooks (e.g. http://127.0.0.1:8000/webhooks/whatsapp)."
    ),
    app_secret: str = typer.Option(
        SANDBOX_IDENTITY.app_secret, help="The Meta app secret that signs the webhooks."
    ),
) -> None:
    """Run the WhatsApp sandbox alone (a Graph API emulator that can play Meta's webhooks)."""
    from threadline.sandbox.app import create_sandbox_app
    from threadline.sandbox.config import SandboxConfig

    config = SandboxConfig(webhook_url=webhook_url, app_secret=app_secret)
    target = f", webhooks to {webhook_url}" if webhook_url else ", no webhooks"
    typer.echo(
        f"WhatsApp sandbox on http://{host}:{port} (outbox: /_sandbox/outbox, "
        f"chat: /_sandbox/chat{target})"
    )
    uvicorn.run(create_sandbox_app(config), host=host, port=port, log_level="warning")


def model_server(
    port: int = typer.Option(8002, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    cassette: Path | None = typer.Option(
        None, help="A cassette (YAML or JSON) of recorded answers to replay.", exists=True
    ),
    record: Path | None = typer.Option(
        None, help="Record what nothing answers from the upstreams into this cassette file."
    ),
    openai_upstream: str = typer.Option(
        "https://api.openai.com/v1", help="Where --record sends chat completions."
    ),
    anthropic_upstream: str = typer.Option(
        "https://api.anthropic.com", help="Where --record sends messages."
    ),
) -> None:
    """Run the local model server alone (OpenAI and Anthropic APIs answered by scripts)."""
    from threadline.model_server.app import create_model_server_app
    from threadline.model_server.cassettes import load_cassette
    from threadline.model_server.faults import Protocol
    from threadline.model_server.recorder import Recorder

    recorded = load_cassette(cassette) if cassette else None
    recorder = None
    if record is not None:
        upstreams: dict[Protocol, str] = {
            "openai": openai_upstream,
            "anthropic": anthropic_upstream,
        }
        recorder = Recorder(path=record, upstreams=upstreams)
    base = f"http://{host}:{port}"
    typer.echo(
        f"Local model server on {base} (OpenAI base_url {base}/openai/v1, Anthropic base_url "
        f"{base}/anthropic, control plane: {base}/_control/docs"
        + (f", recording to {record})" if record else ")")
    )
    app = create_model_server_app(recorded, recorder=recorder)
    uvicorn.run(app, host=host, port=port, log_level="warning")
