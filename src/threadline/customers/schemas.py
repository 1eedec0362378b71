"""Customer resources as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CustomerFields(BaseModel):
    """The writable fields of a customer (``PATCH`` changes only those sent)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    external_customer_id: str | None = Field(default=None, min_length=1, max_length=200)


class CustomerCreateFields(CustomerFields):
    """A new customer: its name and the project's own id for it are required."""

    name: str = Field(min_length=1, max_length=200)
    external_customer_id: str = Field(min_length=1, max_length=200)


class CustomerCreate(BaseModel):
    """``POST /customers`` body."""

    customer: CustomerCreateFields


class CustomerUpdate(BaseModel):
    """``PATCH /customers/{id}`` body."""

    customer: CustomerFields


class CustomerOut(BaseModel):
    """A customer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    external_customer_id: str | None
    created_at: datetime
    updated_at: datetime


class CustomerFilters(BaseModel):
    """``q[name_cont]`` and ``q[external_customer_id_eq]`` of ``GET /customers``."""

    name_cont: str | None = None
    external_customer_id_eq: str | None = None
