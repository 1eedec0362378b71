"""whatsapp_messages.resent_at: when a send of unknown outcome was resent (once)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.drop_column("resent_at")
