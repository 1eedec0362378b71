"""A project's model providers: where its models are called, with which key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime


class ModelProvider(Base):
    """An OpenAI-compatible or Anthropic endpoint of one project.

    ``api_key_encrypted`` is Fernet ciphertext (``kit/crypto.py``) and is never shown;
    ``api_key_hint`` keeps its last four characters so a user can tell keys apart.
    ``base_url`` empty: the vendor's own API.
    """

    __tablename__ = "model_providers"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_model_providers_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    base_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    api_key_hint: Mapped[str | None] = mapped_column(String(4), nullable=True)
    timeout_seconds: Mapped[float] = mapped_column(Float)
    max_retries: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
