"""API docs that work offline: Swagger UI and ReDoc served from the installed package.

FastAPI's default pages load their JavaScript from a CDN, so they are blank without
internet. The assets come from ``fastapi-offline`` (a small, maintained wheel that bundles
Swagger UI and ReDoc); only its static folder is used, the pages are FastAPI's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"


@dataclass(frozen=True)
class _DocsPages:
    """Where an app's docs pages find its schema and their assets (kept in ``app.state``)."""

    openapi_url: str
    assets_url: str


def install(app: FastAPI, *, docs_url: str, redoc_url: str | None = None, assets_url: str) -> None:
    """Serve Swagger UI at ``docs_url`` (and ReDoc at ``redoc_url``) from ``assets_url``.

    Create ``app`` with ``docs_url=None, redoc_url=None``; URLs are relative to the app,
    which may be mounted under a prefix (the request's ``root_path``).
    """
    app.mount(assets_url, StaticFiles(directory=ASSETS), name=f"docs-assets{assets_url}")
    app.state.docs_pages = _DocsPages(app.openapi_url or "/openapi.json", assets_url)
    # Module-level endpoints reading request.app: FastAPI caches facts about endpoint
    # callables process-wide, and a closure over ``app`` would keep every app alive.
    app.add_api_route(docs_url, _swagger_ui, include_in_schema=False)
    if redoc_url is not None:
        app.add_api_route(redoc_url, _redoc, include_in_schema=False)


def _urls(request: Request) -> tuple[str, _DocsPages]:
    """The prefix the app is mounted under, and its docs settings."""
    return request.scope.get("root_path", "").rstrip("/"), request.app.state.docs_pages


async def _swagger_ui(request: Request) -> HTMLResponse:
    root, pages = _urls(request)
    assets = root + pages.assets_url
    return get_swagger_ui_html(
        openapi_url=root + pages.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )


async def _redoc(request: Request) -> HTMLResponse:
    root, pages = _urls(request)
    assets = root + pages.assets_url
    page = get_redoc_html(
        openapi_url=root + pages.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )
    # ReDoc's footer shows its vendor's logo from a CDN; images stay on this server.
    page.headers["Content-Security-Policy"] = "img-src 'self' data: blob:"
    return page
