"""Typed application errors, rendered by one handler into ``{error, status, message}``.

Each subclass carries its HTTP status and a short ``error`` title; the docstring of the
class is the default human message. Services raise these; only ``app.py`` renders them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Something went wrong."""

    status_code: ClassVar[int] = 500
    error: ClassVar[str] = "An unexpected error occurred"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or self.error).strip()
        self.details = details
        self.errors = errors
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The JSON body: the reference's ``Error`` shape, plus ``details`` (a string, as
        the reference's 422s have it) and ``errors`` (each problem, when there are several).
        """
        body: dict[str, Any] = {
            "error": self.error,
            "status": self.status_code,
            "message": self.message,
        }
        if self.details is not None:
            body["details"] = self.details
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(AppError):
    """The request could not be read."""

    status_code = 400
    error = "Invalid parameters"


class Unauthorized(AppError):
    """Send a valid project API key in the X-API-Key header."""

    status_code = 401
    error = "Invalid or missing API key"


class Forbidden(AppError):
    """The credentials presented do not allow this."""

    status_code = 403
    error = "Forbidden"


class NotFound(AppError):
    """The requested resource could not be found."""

    status_code = 404
    error = "Resource not found"


class Conflict(AppError):
    """The request conflicts with the current state of the resource."""

    status_code = 409
    error = "Conflict"


class PayloadTooLarge(AppError):
    """The request body is larger than the server accepts."""

    status_code = 413
    error = "Payload too large"


class Unprocessable(AppError):
    """The request was well-formed but could not be processed."""

    status_code = 422
    error = "Validation failed"
