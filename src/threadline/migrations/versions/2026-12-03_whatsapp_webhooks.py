"""whatsapp_webhooks and their deliveries: events sent to the user's URLs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "whatsapp_webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("events", _JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("headers", _JSON, nullable=True),
        sa.Column("buffer_enabled", sa.Boolean(), nullable=False),
        sa.Column("buffer_window_seconds", sa.Integer(), nullable=False),
        sa.Column("max_buffer_size", sa.Integer(), nullable=False),
        sa.Column("buffer_events", _JSON, nullable=False),
        sa.Column("inactivity_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_whatsapp_webhooks_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["whatsapp_config_id"],
            ["whatsapp_configs.id"],
            name=op.f("fk_whatsapp_webhooks_whatsapp_config_id_whatsapp_configs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_webhooks")),
    )
    with op.batch_alter_table("whatsapp_webhooks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_webhooks_config_active", ["whatsapp_config_id", "active"], unique=False
        )
    op.create_table(
        "whatsapp_webhook_deliveries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batch_id", _BIG_ID, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_webhook_deliveries")),
    )
    with op.batch_alter_table("whatsapp_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_webhook_deliveries_webhook_id", ["webhook_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_whatsapp_webhook_deliveries_buffer",
            ["webhook_id", "conversation_id", "status"],
            unique=False,
        )
        batch_op.create_index("ix_whatsapp_webhook_deliveries_batch_id", ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_whatsapp_webhook_deliveries_status_updated_at",
            ["status", "updated_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_whatsapp_webhook_deliveries_status_updated_at")
        batch_op.drop_index("ix_whatsapp_webhook_deliveries_batch_id")
        batch_op.drop_index("ix_whatsapp_webhook_deliveries_buffer")
        batch_op.drop_index("ix_whatsapp_webhook_deliveries_webhook_id")
    op.drop_table("whatsapp_webhook_deliveries")
    with op.batch_alter_table("whatsapp_webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_whatsapp_webhooks_config_active")
    op.drop_table("whatsapp_webhooks")
