"""whatsapp_templates and whatsapp_template_sync_runs: templates mirrored with Meta

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_LIVE = sa.text("status <> 'removed'")
_ACTIVE = sa.text("status IN ('queued', 'running')")


def _owner_columns(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=True),
        sa.Column("business_account_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["whatsapp_config_id"],
            ["whatsapp_configs.id"],
            name=op.f(f"fk_{table}_whatsapp_config_id_whatsapp_configs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        *_owner_columns("whatsapp_templates"),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language_code", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("parameter_format", sa.String(length=12), nullable=False),
        sa.Column("components", _JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("meta_status", sa.String(length=30), nullable=True),
        sa.Column("meta_template_id", sa.String(length=64), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("whatsapp_templates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_templates_meta_template_id", ["meta_template_id"], unique=False
        )
        batch_op.create_index(
            "uq_whatsapp_templates_live_name",
            ["project_id", "business_account_id", "name", "language_code"],
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        )
    op.create_table(
        "whatsapp_template_sync_runs",
        *_owner_columns("whatsapp_template_sync_runs"),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("templates_synced", sa.Integer(), nullable=False),
        sa.Column("templates_created", sa.Integer(), nullable=False),
        sa.Column("templates_updated", sa.Integer(), nullable=False),
        sa.Column("templates_removed", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("error_class", sa.String(length=200), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("whatsapp_template_sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_template_sync_runs_project_id", ["project_id"], unique=False
        )
        batch_op.create_index(
            "uq_whatsapp_template_sync_runs_active",
            ["project_id", "business_account_id"],
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_template_sync_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_whatsapp_template_sync_runs_active")
        batch_op.drop_index("ix_whatsapp_template_sync_runs_project_id")
    op.drop_table("whatsapp_template_sync_runs")
    with op.batch_alter_table("whatsapp_templates", schema=None) as batch_op:
        batch_op.drop_index("uq_whatsapp_templates_live_name")
        batch_op.drop_index("ix_whatsapp_templates_meta_template_id")
    op.drop_table("whatsapp_templates")
