"""The people of a project: who conversations are assigned to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import UtcDateTime


class User(Base):
    """A person of the project (made with ``threadline users create``).

    A removed user keeps its row (``removed_at``), so the assignments it held still name
    it; it can no longer be assigned.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("project_id", "email", name="uq_users_project_email"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
