"""What the OpenAPI document says beyond the routes: the error answers and their schema.

Documentation only: nothing here changes how a request is validated or an error rendered
(``kit/http_errors.py`` does that).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class ErrorOut(BaseModel):
    """Every error answer: a short title, the HTTP status and what to change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "Resource not found",
                    "status": 404,
                    "message": "The requested resource could not be found.",
                }
            ]
        }
    )

    error: str = Field(description="A short title of the problem.")
    status: int = Field(description="The HTTP status, repeated.")
    message: str = Field(description="What went wrong and, for bad input, what to change.")


class ProblemOut(BaseModel):
    """One problem of an invalid request."""

    model_config = ConfigDict(extra="allow")

    field: str | None = Field(default=None, description="Where: a dotted path into the body.")
    message: str


class ValidationErrorOut(ErrorOut):
    """A 422: the request was read but breaks a rule; ``errors`` lists every problem."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "Validation failed",
                    "status": 422,
                    "message": "phone_number: String should match pattern '^\\+[1-9]\\d{1,14}$'",
                    "details": "phone_number: String should match pattern '^\\+[1-9]\\d{1,14}$'",
                    "errors": [
                        {
                            "field": "phone_number",
                            "message": "String should match pattern '^\\+[1-9]\\d{1,14}$'",
                        }
                    ],
                }
            ]
        }
    )

    details: str | None = Field(default=None, description="The problems, as one sentence.")
    errors: list[ProblemOut] | None = Field(default=None, description="Each problem.")


def _error(description: str, model: type[ErrorOut] = ErrorOut) -> dict[str, Any]:
    return {"model": model, "description": description}


#: The error answers every ``/api/v1`` operation can give, for ``APIRouter(responses=...)``.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("No API key in `X-API-Key`, or an unknown one."),
    404: _error("The resource does not exist in the caller's project."),
    409: _error("The request conflicts with the current state (e.g. a duplicate name)."),
    413: _error("The request body is larger than the server accepts."),
    422: _error("The request breaks a rule; `errors` lists every problem.", ValidationErrorOut),
}


class DocumentedAs:
    """``Annotated[T, DocumentedAs(Model)]``: validate as ``T``, document as ``Model``.

    For a field whose validation lives elsewhere (a flow definition is checked by
    ``validate_definition``) but whose shape the docs should spell out.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The JSON schema of ``model`` in place of the field's own."""
        return handler(self.model.__pydantic_core_schema__)
