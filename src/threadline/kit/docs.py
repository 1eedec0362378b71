"""API docs that work offline: Swagger UI and ReDoc served from the installed package.

FastAPI's default pages load their JavaScript from a CDN, so they are blank without
internet. The assets come from ``fastapi-offline`` (a small, maintained wheel that bundles
Swagger UI and ReDoc); only its static folder is used, the pages are FastAPI's own.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI, *, docs_url: str, redoc_url: str | None = None, assets_url: str) -> None:
    """Serve Swagger UI at ``docs_url`` (and ReDoc at ``redoc_url``) from ``assets_url``.

    Create ``app`` with ``docs_url=None, redoc_url=None``; URLs are relative to the app,
    which may be mounted under a prefix (the request's ``root_path``).
    """
    app.mount(assets_url, StaticFiles(directory=ASSETS), name=f"docs-assets{assets_url}")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets_url}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    if redoc_url is None:
        return

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{assets_url}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{assets_url}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's footer shows its vendor's logo from a CDN; images stay on this server.
        page.headers["Content-Security-Policy"] = "img-src 'self' data: blob:"
        return page
