"""What every node config model is built from: the base model and the shared rules.

Rules that span several fields raise :func:`rule_error`, whose ``path`` context names
the offending field so that validation can report it precisely.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
)
from pydantic_core import PydanticCustomError

HttpMethod: TypeAlias = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

RULE_ERROR = "config_rule"


def rule_error(message: str, *path: str | int) -> PydanticCustomError:
    """An error for a cross-field rule; ``path`` is relative to where it is raised."""
    return PydanticCustomError(RULE_ERROR, "{message}", {"message": message, "path": path})


def _check_variable_name(name: str) -> str:
    if not _VARIABLE_NAME.match(name):
        raise rule_error(
            f"{name!r} is not a variable name (letters, digits and underscores, "
            "not starting with a digit)"
        )
    return name


VariableName = Annotated[str, AfterValidator(_check_variable_name)]
"""A flow variable name such as ``order_id``."""


def duplicates(values: Iterable[str]) -> list[str]:
    return [value for value, count in Counter(values).items() if count > 1]


def single_error(value: Any, handler: ValidatorFunctionWrapHandler, message: str) -> Any:
    # A union reports one error per member; one plain sentence reads better.
    try:
        return handler(value)
    except ValidationError:
        raise rule_error(message) from None


class Config(BaseModel):
    """The base of every node config: frozen, unknown keys ignored (saving refuses them)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
