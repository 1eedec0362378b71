"""Prometheus metrics of the process, served at ``GET /metrics``.

Metrics live in ``prometheus_client``'s default registry: each area defines its own next to
its code (HTTP here, deliveries in ``messaging/metrics.py``, jobs in ``jobs/metrics.py``).
Figures read from the database (queue depth, lag) are refreshed at scrape time by the
functions in :data:`SCRAPE_HOOKS`.

``/metrics`` needs no API key, like ``/health``: Prometheus scrapes without one, and the
figures are process-wide (route templates, statuses, outcomes), never a project's data.
Where the port is public, keep ``/metrics`` off it at the proxy or set
``THREADLINE_METRICS_ENABLED=false``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from wsgiref.simple_server import WSGIServer

from fastapi import FastAPI, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from threadline.config import Settings
from threadline.kit.resources import Resources

HTTP_REQUESTS = Counter(
    "threadline_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "threadline_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

ScrapeHook = Callable[[AsyncSession], Awaitable[None]]

#: Awaited, in one read transaction, before every scrape; areas register their own
#: (``jobs.metrics`` adds the queue depth and lag per lane when it is imported).
SCRAPE_HOOKS: list[ScrapeHook] = []


async def _refresh(resources: Resources) -> None:
    if not SCRAPE_HOOKS:
        return
    async with resources.db.read() as session:
        for hook in SCRAPE_HOOKS:
            await hook(session)


def install(app: FastAPI) -> None:
    """Serve the default registry at ``GET /metrics`` (outside the OpenAPI document)."""

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await _refresh(request.app.state.resources)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def serve_worker_metrics(settings: Settings) -> WSGIServer | None:
    """A standalone worker's own counters on ``THREADLINE_WORKER_METRICS_PORT`` (0: off).

    Such a worker has no HTTP API; a small server thread exposes its registry.
    Figures from the database (queue depth) come from the API's ``/metrics``.
    """
    if not settings.worker_metrics_port:
        return None
    server, _thread = start_http_server(settings.worker_metrics_port, addr=settings.host)
    return server
