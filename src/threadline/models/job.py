"""The job queue, in the same database as the data it changes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, Json, UtcDateTime


class Job(Base):
    """A unit of background work.

    A finished job is deleted in the transaction that applies its effects. ``queued``
    jobs are claimed by setting ``running`` with a lease; a lease that runs out makes
    the job claimable again. At most one queued job exists per ``dedupe_key``, and
    jobs sharing a ``lock_key`` never run at the same time.

    ``project_id`` is the project the job works for, when its caller knows it; it is
    empty for the system's own maintenance jobs (the retention), which serve every
    project, and for jobs whose caller holds only a child id (an inbox, a delivery).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_at"),
        Index(
            "uq_jobs_dedupe_queued",
            "dedupe_key",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        # The claim's lock check looks up running jobs of one lock key: both columns.
        Index("ix_jobs_lock_key_status", "lock_key", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    task: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(10))
    run_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lock_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
