"""The sandbox app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from threadline.kit import docs
from threadline.sandbox import chat, control, graph, signup, simulate
from threadline.sandbox.config import SandboxConfig
from threadline.sandbox.faults import GraphFault, not_implemented_body
from threadline.sandbox.state import SandboxState

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

DESCRIPTION = """An emulator of the WhatsApp Cloud (Graph) API, for trying flows without Meta.

Sends are accepted into an in-memory outbox; the control plane under `/_sandbox` reads it
and injects failures. With a `webhook_url` set (`POST /_sandbox/config`) it also plays
Meta's side: inbound messages from emulated phones and status updates of sends arrive at
that URL as signed webhooks. A chat page for a person to play a phone is at
[/_sandbox/chat](_sandbox/chat). It has no authentication: serve it only where you trust
callers."""


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Owns the webhook dispatcher task (a parent app that mounts this one enters it)."""
    state: SandboxState = app.state.sandbox
    state.dispatcher.start()
    try:
        yield
    finally:
        await state.dispatcher.stop()


def create_sandbox_app(config: SandboxConfig | None = None) -> FastAPI:
    """A FastAPI app emulating the WhatsApp Cloud API, with its state on ``app.state.sandbox``."""
    app = FastAPI(
        title="Threadline WhatsApp sandbox",
        description=DESCRIPTION,
        docs_url=None,
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
        openapi_tags=[
            {"name": control.TAG, "description": control.__doc__},
            {"name": simulate.TAG, "description": simulate.__doc__},
        ],
    )
    docs.install(app, docs_url="/_sandbox/docs", assets_url="/_sandbox/docs-assets")
    app.state.sandbox = SandboxState(config or SandboxConfig())
    app.include_router(control.router)
    app.include_router(simulate.router)
    app.include_router(chat.router)
    # Before graph: its /{v}/{object_id} would take /{v}/debug_token.
    app.include_router(signup.router)
    app.include_router(graph.router)
    # Registered last so it only catches what no emulated route matched.
    app.add_api_route(
        "/{path:path}", _not_implemented, methods=_ALL_METHODS, include_in_schema=False
    )

    @app.exception_handler(GraphFault)
    async def render_fault(request: Request, fault: GraphFault) -> JSONResponse:
        return JSONResponse(fault.body(), status_code=fault.http_status)

    return app


async def _not_implemented(request: Request) -> JSONResponse:
    return JSONResponse(not_implemented_body(request.method, request.url.path), status_code=501)
