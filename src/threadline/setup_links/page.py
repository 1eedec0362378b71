"""The page a setup link's ``url`` opens (``/setup/{token}``, outside ``/api/v1``).

``GET`` renders it; ``POST .../sandbox`` connects a sandbox number and ``POST
.../embedded_signup`` (form fields ``code`` and ``connection_type``) runs embedded
signup's exchange. Both answer 303 to the link's success URL (``setup_link_id`` and
``whatsapp_config_id`` appended) or, when the signup fails, to its failure URL (``error``
and ``message`` appended); a link without that URL gets a page instead. An unknown token
is a 404 page, a used, revoked or expired link a 410 page.
"""

from __future__ import annotations

import logging
from typing import Literal, cast
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from threadline.auth.dependencies import AppResources
from threadline.errors import AppError
from threadline.kit import clock
from threadline.setup_links import connect, service, views

log = logging.getLogger("threadline.setup_links")
router = APIRouter(prefix=service.PAGE_PATH, include_in_schema=False)
_TYPES = ("coexistence", "dedicated")


@router.get("/{token}", response_class=HTMLResponse)
async def setup_page(token: str, resources: AppResources) -> Response:
    """The page: a sandbox button and/or Facebook's embedded signup."""
    settings = resources.settings
    try:
        async with resources.db.read() as session:
            link = await service.open_link(session, token, clock.utcnow())
            page = views.setup_page(
                link,
                token,
                settings,
                sandbox=connect.sandbox_enabled(settings),
                meta=connect.meta_enabled(settings),
            )
    except AppError as error:
        return _error_page(error)
    return HTMLResponse(page, headers=_NO_STORE)


@router.post("/{token}/sandbox")
async def connect_sandbox(token: str, resources: AppResources) -> Response:
    """Connect a sandbox number for the link's customer."""
    try:
        connected = await connect.connect_sandbox(resources, token)
    except AppError as error:
        return await _failed(resources, token, error)
    return _succeeded(connected)


@router.post("/{token}/embedded_signup")
async def connect_meta(token: str, request: Request, resources: AppResources) -> Response:
    """Exchange embedded signup's code and connect the numbers it shared."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    code = (form.get("code") or [""])[0].strip()
    kind = (form.get("connection_type") or ["dedicated"])[0]
    try:
        if not code or kind not in _TYPES:
            raise connect.SignupFailed("The signup sent no code (or an unknown connection type)")
        connection = cast(Literal["coexistence", "dedicated"], kind)
        connected = await connect.connect_meta(resources, token, code, connection)
    except AppError as error:
        return await _failed(resources, token, error)
    return _succeeded(connected)


_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _succeeded(connected: connect.Connected) -> Response:
    link, config = connected.link, connected.configs[0]
    if link.success_redirect_url:
        params = {"setup_link_id": str(link.id), "whatsapp_config_id": str(config.id)}
        return RedirectResponse(_with_query(link.success_redirect_url, params), status_code=303)
    text = f"WhatsApp is connected: {config.display_phone_number} ({config.name})."
    return HTMLResponse(views.message("All set", text), headers=_NO_STORE)


async def _failed(resources: AppResources, token: str, error: AppError) -> Response:
    log.info("setup failed: %s", error.message)
    if isinstance(error, service.SetupLinkNotFound | service.SetupLinkGone):
        return _error_page(error)
    try:
        async with resources.db.read() as session:
            link = await service.open_link(session, token, clock.utcnow())
            failure_url = link.failure_redirect_url
    except AppError as gone:  # the link ended meanwhile
        return _error_page(gone)
    if not failure_url:
        return _error_page(error)
    params = {"error": connect.failure_reason(error), "message": error.message}
    return RedirectResponse(_with_query(failure_url, params), status_code=303)


def _error_page(error: AppError) -> HTMLResponse:
    title = "Setup link not found" if error.status_code == 404 else "Setup did not complete"
    if error.status_code == 410:
        title = "Setup link no longer valid"
    page = views.message(title, error.message, error=True)
    return HTMLResponse(page, status_code=error.status_code, headers=_NO_STORE)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))
