"""Function resources as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class FunctionCreateFields(BaseModel):
    """A function: an HTTPS endpoint of yours that flows call, signed with ``secret``."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=500)
    description: str | None = Field(default=None, max_length=2000)


class FunctionCreate(BaseModel):
    """``POST /functions`` body."""

    function: FunctionCreateFields


class FunctionOut(BaseModel):
    """A function (its secret is never shown again)."""

    id: uuid.UUID
    name: str
    slug: str
    description: str | None
    endpoint_url: str
    project_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
