"""WhatsApp message templates, mirrored with a business account's ``message_templates``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import Json, UtcDateTime

_LIVE = text("status <> 'removed'")
_ACTIVE = text("status IN ('queued', 'running')")


class WhatsappTemplate(Base):
    """A template of a project on one WABA: a local draft until submitted, then Meta's.

    ``status`` is the reference's (draft, submitted, approved, rejected, disabled,
    removed); ``meta_status`` is what Meta last said (PENDING, APPROVED, PAUSED, ...).
    A (name, language) is unique per WABA among templates not removed.
    """

    __tablename__ = "whatsapp_templates"
    __table_args__ = (
        Index(
            "uq_whatsapp_templates_live_name",
            "project_id",
            "business_account_id",
            "name",
            "language_code",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="SET NULL"), nullable=True
    )
    business_account_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    language_code: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    parameter_format: Mapped[str] = mapped_column(String(12))
    components: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(20))
    meta_status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    meta_template_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WhatsappTemplateSyncRun(Base):
    """One pull of a WABA's templates from the Graph API, with its progress and outcome.

    At most one run of a WABA is queued or running (a partial unique index).
    """

    __tablename__ = "whatsapp_template_sync_runs"
    __table_args__ = (
        Index(
            "uq_whatsapp_template_sync_runs_active",
            "project_id",
            "business_account_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    whatsapp_config_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("whatsapp_configs.id", ondelete="SET NULL"), nullable=True
    )
    business_account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    templates_synced: Mapped[int] = mapped_column(Integer, default=0)
    templates_created: Mapped[int] = mapped_column(Integer, default=0)
    templates_updated: Mapped[int] = mapped_column(Integer, default=0)
    templates_removed: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error_class: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
