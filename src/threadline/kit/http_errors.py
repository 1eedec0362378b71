"""The one place errors become HTTP responses, in the reference's ``{error, status, message}``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from threadline.errors import AppError, BadRequest, Conflict, Unprocessable

log = logging.getLogger("threadline.api")

_STATUS_TITLES = {
    401: "Invalid or missing API key",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
}


#: Reshapes an error answer ``(status, body, the error)`` for the paths under a prefix.
Reshape = Callable[[int, dict[str, Any], Exception], tuple[int, dict[str, Any]]]
_RESHAPERS: dict[str, Reshape] = {}


def reshape_under(prefix: str, reshape: Reshape) -> None:
    """Answer errors of paths under ``prefix`` in another wire format (the Graph API
    proxy answers Graph's ``{"error": {...}}``): one handler, several dialects."""
    _RESHAPERS[prefix] = reshape


def _answer(
    request: Request,
    status: int,
    body: dict[str, Any],
    error: Exception,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    path = request.url.path
    for prefix, reshape in _RESHAPERS.items():
        if path.startswith(prefix):
            status, body = reshape(status, body, error)
            break
    return JSONResponse(status_code=status, content=body, headers=headers)


def _render(request: Request, error: AppError) -> JSONResponse:
    return _answer(request, error.status_code, error.body(), error)


async def _app_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return _render(request, error)


def _describe(problem: dict[str, Any]) -> dict[str, Any]:
    location = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
    return {"field": location or "body", "message": problem.get("msg", "invalid")}


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        return _render(request, BadRequest("The request body is not valid JSON"))
    errors = [_describe(p) for p in problems]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "Invalid request"
    return _render(request, Unprocessable(summary, details=summary, errors=errors))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    title = _STATUS_TITLES.get(error.status_code, "Request failed")
    body = {"error": title, "status": error.status_code, "message": str(error.detail)}
    return _answer(request, error.status_code, body, error, error.headers)


async def _integrity_error(request: Request, error: Exception) -> JSONResponse:
    # The last line of defence: a service that races a unique constraint should turn it
    # into its own Conflict; one that escapes is still the client's 409, not a 500.
    log.warning("unique or foreign key violation escaped a service: %s", error)
    return _render(request, Conflict("The request conflicts with a concurrent change; retry it"))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=error)
    body = {"error": "An unexpected error occurred", "status": 500, "message": type(error).__name__}
    return _answer(request, 500, body, error)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected)
