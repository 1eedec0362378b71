"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from threadline import api
from threadline.config import (
    MODEL_SERVER_MOUNT,
    SANDBOX_IDENTITY,
    SANDBOX_MOUNT,
    Settings,
    get_settings,
)
from threadline.inbound.endpoints import router as inbound_router
from threadline.inbound.group import GroupCommit
from threadline.jobs.worker import Worker
from threadline.kit import config_cache, docs, http_errors, metrics
from threadline.kit.body_limit import BodyLimitMiddleware
from threadline.kit.observe import ObserveMiddleware
from threadline.kit.resources import Resources
from threadline.llm.client import load_providers
from threadline.meta_proxy import errors as meta_errors
from threadline.meta_proxy.endpoints import router as meta_proxy_router
from threadline.model_server.app import create_model_server_app
from threadline.sandbox.app import create_sandbox_app
from threadline.sandbox.config import SandboxConfig
from threadline.setup_links.page import router as setup_page_router
from threadline.tasks import load_tasks, schedule_maintenance

DESCRIPTION = """WhatsApp automation: durable flows behind a Kapso v1 compatible API.

Authenticate with a project API key in the `X-API-Key` header (**Authorize** above).
Every error answers `{error, status, message}`; a 422 adds `details` and `errors`.

The embedded WhatsApp sandbox (when enabled) documents its Graph API emulation and its
control plane (outbox, injected failures, settings) at
[/sandbox/_sandbox/docs](/sandbox/_sandbox/docs), and its chat page, where you play a
WhatsApp user, at [/sandbox/_sandbox/chat](/sandbox/_sandbox/chat).

The local model server (when enabled) answers OpenAI's and Anthropic's model APIs from
scripts, for agents without a provider account; its control plane is documented at
[/model-server/_control/docs](/model-server/_control/docs)."""

#: Where Meta (and the embedded sandbox) POST WhatsApp webhooks: the receiver's route.
WHATSAPP_WEBHOOK_PATH = inbound_router.prefix


def embedded_sandbox(settings: Settings) -> FastAPI:
    """The sandbox mounted at ``/sandbox``, sending its signed webhooks to this server."""
    config = SandboxConfig(
        webhook_url=settings.base_url() + WHATSAPP_WEBHOOK_PATH,
        app_secret=SANDBOX_IDENTITY.app_secret,
    )
    return create_sandbox_app(config)


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> FastAPI:
    """The API (plus, if enabled, the embedded worker, the WhatsApp sandbox and the local
    model server)."""
    settings = settings or get_settings()
    load_tasks()
    config_cache.configure(settings.config_cache_seconds)
    sandbox = embedded_sandbox(settings) if settings.sandbox_enabled else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = resources is None
        app.state.resources = resources or Resources.create(
            settings, worker=settings.embedded_worker
        )
        worker_task = None
        if settings.embedded_worker:
            load_providers()  # before serving: not at the first model call
            await schedule_maintenance(app.state.resources)
            worker = Worker(app.state.resources)
            worker_task = asyncio.create_task(worker.run())
        try:
            # A mounted app's lifespan is not run by Starlette: the sandbox's is entered here.
            async with contextlib.AsyncExitStack() as stack:
                if sandbox is not None:
                    await stack.enter_async_context(sandbox.router.lifespan_context(sandbox))
                yield
        finally:
            await app.state.ingest_group.close()  # the waiting deliveries are stored first
            if worker_task is not None:
                worker.stop()
                await worker_task
            if owned:
                await app.state.resources.close()

    app = FastAPI(
        title="Threadline",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    if resources is not None:
        app.state.resources = resources
    app.state.ingest_group = GroupCommit(settings)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        per_prefix={
            inbound_router.prefix: settings.webhook_max_body_bytes,
            meta_errors.PREFIX: settings.meta_proxy_max_body_bytes,
        },
    )
    app.add_middleware(ObserveMiddleware)  # added last: it wraps the body limit, sees its 413s
    http_errors.install(app)
    http_errors.reshape_under(meta_errors.PREFIX + "/", meta_errors.graph_error)
    docs.install(app, docs_url="/docs", redoc_url="/redoc", assets_url="/docs-assets")
    app.include_router(api.router)
    app.include_router(inbound_router)
    app.include_router(setup_page_router)
    app.include_router(meta_proxy_router)
    if settings.metrics_enabled:
        metrics.install(app)
    if sandbox is not None:
        app.mount(SANDBOX_MOUNT, sandbox)
    if settings.model_server_enabled:
        app.mount(MODEL_SERVER_MOUNT, create_model_server_app())

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
