"""Operating Threadline: one structured access line per request, quiet httpx, /metrics."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from builders import chain, create_project, node, run_flow
from support import free_port
from threadline.app import create_app
from threadline.config import Settings
from threadline.jobs.queue import enqueue
from threadline.kit.logs import configure_logging
from threadline.kit.metrics import SCRAPE_HOOKS, serve_worker_metrics
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

PHONE = "+15550002222"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo configure_logging: the root handlers and the levels it sets."""
    names = ("", "httpx", "httpcore", "uvicorn.access")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    logging.getLogger().handlers = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _configure(settings: Settings, log_format: str) -> None:
    configure_logging(settings.model_copy(update={"log_format": log_format}))


def _access_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "threadline.access" in line]


async def test_access_log_text_line(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox_url: str,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    project = await create_project(resources, sandbox_url)
    _configure(settings, "text")
    capsys.readouterr()
    response = await client.get(f"/api/v1/flows/{uuid.uuid4()}", headers=project.headers)
    assert response.status_code == 404
    [line] = _access_lines(capsys.readouterr().err)
    assert " INFO threadline.access request method=GET path=/api/v1/flows/{flow_id} " in line
    assert " status=404 duration_ms=" in line
    assert line.endswith(f" project_id={project.id}")


async def test_access_log_json_line(
    client: httpx.AsyncClient,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    _configure(settings, "json")
    capsys.readouterr()
    assert (await client.get("/api/v1/flows")).status_code == 401
    assert (await client.get("/no/such/page")).status_code == 404
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = [e for e in entries if e["logger"] == "threadline.access"]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [
        ("GET", "/api/v1/flows", 401),
        ("GET", "/no/such/page", 404),
    ]
    assert all(isinstance(e["duration_ms"], float) and e["level"] == "INFO" for e in access)
    assert all("project_id" not in e for e in access)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_extra_fields_of_callers_are_rendered(
    settings: Settings,
    log_format: str,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    _configure(settings, log_format)
    job = {"task": "messaging.deliver", "job_id": 42, "execution_id": "e-1", "duration_ms": 3.5}
    job |= {"outcome": "done", "lane": "fast"}
    logging.getLogger("threadline.worker").info("job done", extra=job)
    [line] = capsys.readouterr().err.splitlines()
    if log_format == "json":
        assert json.loads(line).items() >= {**job, "message": "job done"}.items()
    else:
        assert line.endswith(
            "INFO threadline.worker job done task=messaging.deliver job_id=42 "
            "execution_id=e-1 duration_ms=3.5 outcome=done lane=fast"
        )


async def test_graph_requests_do_not_log_a_line_each(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox: SandboxState,
    sandbox_url: str,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    project = await create_project(resources, sandbox_url)
    _configure(settings, "text")
    definition = chain(node("start", "start"), node("hi", "send_text", message="Hi"))
    execution = await run_flow(client, resources, project, definition, phone=PHONE)
    assert execution["status"] == "ended"
    assert len(sandbox.outbox) == 1
    err = capsys.readouterr().err
    assert "threadline.access" in err
    assert "HTTP Request:" not in err and " httpx " not in err


def _sample(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples that carry ``labels``."""
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def _scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    requests = "threadline_http_requests_total"
    route = {"method": "GET", "route": "/api/v1/flows/{flow_id}", "status": "401"}
    before = _sample(await _scrape(client), requests, **route)
    for _ in range(3):
        await client.get(f"/api/v1/flows/{uuid.uuid4()}")
    text = await _scrape(client)
    assert _sample(text, requests, **route) == before + 3
    duration = "threadline_http_request_duration_seconds_count"
    assert _sample(text, duration, method="GET", route="/api/v1/flows/{flow_id}") >= 3
    assert _sample(text, requests, route="/metrics") >= 1


async def test_metrics_labels_stay_few_for_mounted_apps(client: httpx.AsyncClient) -> None:
    for path in ("/docs-assets/swagger-ui.css", "/docs-assets/a.js", "/docs-assets/b/c.js"):
        await client.get(path)
    await client.get("/sandbox/v99.0/123/anything")
    await client.get("/no/such/page")
    text = await _scrape(client)
    assert _sample(text, "threadline_http_requests_total", route="/docs-assets/{path}") >= 3
    assert _sample(text, "threadline_http_requests_total", route="/sandbox/{path}") >= 1
    assert _sample(text, "threadline_http_requests_total", route="unmatched") >= 1
    assert "/no/such/page" not in text and "anything" not in text


async def test_metrics_count_sent_deliveries(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    before = _sample(await _scrape(client), "threadline_deliveries_total", outcome="sent")
    definition = chain(
        node("start", "start"),
        node("a", "send_text", message="a"),
        node("b", "send_text", message="b"),
    )
    execution = await run_flow(client, resources, project, definition, phone=PHONE)
    assert execution["status"] == "ended" and len(sandbox.outbox) == 2
    text = await _scrape(client)
    assert _sample(text, "threadline_deliveries_total", outcome="sent") == before + 2
    assert 'threadline_deliveries_total{outcome="failed"}' in text


async def test_metrics_can_be_switched_off(settings: Settings, resources: Resources) -> None:
    app = create_app(settings.model_copy(update={"metrics_enabled": False}), resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_metrics_await_the_scrape_hooks_with_a_session(client: httpx.AsyncClient) -> None:
    seen: list[int] = []

    async def hook(session: AsyncSession) -> None:
        seen.append((await session.execute(text("SELECT 41 + 1"))).scalar_one())

    SCRAPE_HOOKS.append(hook)
    try:
        await _scrape(client)
    finally:
        SCRAPE_HOOKS.remove(hook)
    assert seen == [42]


async def test_a_standalone_worker_serves_its_counters_on_its_own_port(
    settings: Settings,
) -> None:
    port = free_port()
    server = serve_worker_metrics(settings.model_copy(update={"worker_metrics_port": port}))
    assert server is not None
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    assert "threadline_deliveries_total" in response.text
    assert serve_worker_metrics(settings) is None  # port 0: off


async def test_a_server_error_is_logged_as_an_error_with_status_500(
    settings: Settings,
    resources: Resources,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    app = create_app(settings, resources)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    _configure(settings, "json")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/boom")).status_code == 500
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [access] = [e for e in entries if e["logger"] == "threadline.access"]
    assert (access["level"], access["path"], access["status"]) == ("ERROR", "/boom", 500)


async def test_metrics_show_the_queue_depth_and_lag_of_each_lane(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    due = datetime.now(UTC) - timedelta(seconds=30)
    async with resources.db.transaction() as session:
        for _ in range(3):
            await enqueue(
                session, "executions.call", {"execution_id": str(uuid.uuid4())}, run_at=due
            )
        await enqueue(session, "executions.timeout", {"execution_id": str(uuid.uuid4())})
    text = await _scrape(client)
    assert _sample(text, "threadline_queue_depth", lane="slow") == 3
    assert _sample(text, "threadline_queue_depth", lane="fast") == 1
    assert _sample(text, "threadline_queue_lag_seconds", lane="slow") >= 29
