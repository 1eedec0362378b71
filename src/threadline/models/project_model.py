"""A project's models: the names flows and agents use (``provider_model_name``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime

_DEFAULT = text("is_default")

#: US dollars per million tokens: up to a million dollars, to a millionth of a cent.
Price = Numeric(14, 8)


class ProjectModel(Base):
    """One named model of a project, on one of its providers.

    ``name`` is the project's name for it, ``model`` the provider's model id. At most one
    model per project is the default (``is_default``): a partial unique index decides,
    so two concurrent requests cannot both make one.
    """

    __tablename__ = "project_models"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_project_models_name"),
        Index(
            "uq_project_models_one_default",
            "project_id",
            unique=True,
            sqlite_where=_DEFAULT,
            postgresql_where=_DEFAULT,
        ),
        Index("ix_project_models_provider", "provider_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_providers.id"))
    model: Mapped[str] = mapped_column(String(200))
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasoning_effort: Mapped[str | None] = mapped_column(String(10), nullable=True)
    input_price_per_million: Mapped[Decimal | None] = mapped_column(Price, nullable=True)
    output_price_per_million: Mapped[Decimal | None] = mapped_column(Price, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
