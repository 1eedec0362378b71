"""The local model server's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from threadline.kit import docs
from threadline.model_server import control, endpoints
from threadline.model_server.cassettes import Cassette
from threadline.model_server.recorder import Recorder
from threadline.model_server.state import ModelServerState

DESCRIPTION = """A local model for trying agents without a provider account or a bill.

It speaks OpenAI's chat completions at `/openai/v1/chat/completions` and Anthropic's
messages at `/anthropic/v1/messages`, well enough for the official SDKs (point their
`base_url` at `.../openai/v1` or `.../anthropic`; any API key is accepted). Answers come
from scripts per model name, recorded cassettes, or a built-in echo; the control plane
under `/_control` loads scripts, injects faults (429, overload, 5xx, delays, malformed
tool calls, empty answers) and lists the requests received. It has no authentication:
serve it only where you trust callers."""


def create_model_server_app(
    cassette: Cassette | None = None, *, recorder: Recorder | None = None
) -> FastAPI:
    """A FastAPI app of both model APIs, its state on ``app.state.model_server``;
    with a ``recorder``, calls nothing answers are recorded from a real provider."""
    app = FastAPI(
        title="Threadline local model server",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/_control/openapi.json",
        openapi_tags=[
            {"name": endpoints.TAG, "description": endpoints.__doc__},
            {"name": control.TAG, "description": control.__doc__},
        ],
    )
    docs.install(app, docs_url="/_control/docs", assets_url="/_control/docs-assets")
    app.state.model_server = ModelServerState(
        boot_cassette=cassette or Cassette(), recorder=recorder
    )
    app.include_router(endpoints.router)
    app.include_router(control.router)
    return app
