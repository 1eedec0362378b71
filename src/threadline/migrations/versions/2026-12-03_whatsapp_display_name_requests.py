"""whatsapp_display_name_requests: display name changes asked of Meta, one active per config

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "whatsapp_display_name_requests"
_MOMENT = sa.DateTime(timezone=True)
_ACTIVE = sa.text("status IN ('submitted', 'pending_review')")


def _fk(column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{_TABLE}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("requested_display_name", sa.String(length=200), nullable=False),
        sa.Column("previous_display_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("meta_error_code", sa.Integer(), nullable=True),
        sa.Column("meta_error_subcode", sa.Integer(), nullable=True),
        sa.Column("meta_error_type", sa.String(length=200), nullable=True),
        sa.Column("meta_error_message", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", _MOMENT, nullable=False),
        sa.Column("reviewed_at", _MOMENT, nullable=True),
        sa.Column("applied_at", _MOMENT, nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk("project_id", "projects"),
        _fk("whatsapp_config_id", "whatsapp_configs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_TABLE}")),
    )
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.create_index(
            "uq_display_name_requests_one_active",
            ["whatsapp_config_id"],
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        )
        batch_op.create_index(
            "ix_display_name_requests_config_created",
            ["whatsapp_config_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table(_TABLE)
