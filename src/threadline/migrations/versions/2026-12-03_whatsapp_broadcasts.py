"""whatsapp_broadcasts and their recipients: one template to many numbers, paced

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_MOMENT = sa.DateTime(timezone=True)
_UNQUEUED = sa.text("queued_at IS NULL")
_BROADCASTS, _RECIPIENTS = "whatsapp_broadcasts", "whatsapp_broadcast_recipients"


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{table}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        _BROADCASTS,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_template_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rate_per_second", sa.Float(), nullable=True),
        sa.Column("total_recipients", sa.Integer(), nullable=False),
        sa.Column("throttled_at", _MOMENT, nullable=True),
        sa.Column("throttle_count", sa.Integer(), nullable=False),
        sa.Column("started_at", _MOMENT, nullable=True),
        sa.Column("completed_at", _MOMENT, nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(_BROADCASTS, "project_id", "projects"),
        _fk(_BROADCASTS, "whatsapp_config_id", "whatsapp_configs", "CASCADE"),
        _fk(_BROADCASTS, "whatsapp_template_id", "whatsapp_templates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_broadcasts")),
    )
    with op.batch_alter_table(_BROADCASTS, schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_broadcasts_project_created", ["project_id", "created_at"], unique=False
        )
    op.create_table(
        _RECIPIENTS,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("broadcast_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(length=20), nullable=False),
        sa.Column("whatsapp_contact_id", sa.Uuid(), nullable=True),
        sa.Column("template_parameters", _JSON, nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("queued_at", _MOMENT, nullable=True),
        sa.Column("failed_at", _MOMENT, nullable=True),
        sa.Column("error", _JSON, nullable=True),
        sa.Column("responded_at", _MOMENT, nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(_RECIPIENTS, "broadcast_id", "whatsapp_broadcasts", "CASCADE"),
        _fk(_RECIPIENTS, "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_broadcast_recipients")),
        sa.UniqueConstraint("broadcast_id", "phone_number", name="uq_broadcast_recipients_phone"),
    )
    with op.batch_alter_table(_RECIPIENTS, schema=None) as batch_op:
        batch_op.create_index(
            "ix_broadcast_recipients_order", ["broadcast_id", "position"], unique=False
        )
        batch_op.create_index(
            "ix_broadcast_recipients_replies", ["whatsapp_config_id", "phone_number"], unique=False
        )
        batch_op.create_index(
            "ix_broadcast_recipients_unqueued",
            ["broadcast_id", "position"],
            unique=False,
            sqlite_where=_UNQUEUED,
            postgresql_where=_UNQUEUED,
        )


def downgrade() -> None:
    with op.batch_alter_table(_RECIPIENTS, schema=None) as batch_op:
        batch_op.drop_index("ix_broadcast_recipients_unqueued")
        batch_op.drop_index("ix_broadcast_recipients_replies")
        batch_op.drop_index("ix_broadcast_recipients_order")
    op.drop_table(_RECIPIENTS)
    with op.batch_alter_table(_BROADCASTS, schema=None) as batch_op:
        batch_op.drop_index("ix_whatsapp_broadcasts_project_created")
    op.drop_table(_BROADCASTS)
