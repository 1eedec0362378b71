"""whatsapp_calls and whatsapp_call_permissions, recorded from Meta's webhooks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = sa.DateTime(timezone=True)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{table}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name, ondelete=ondelete)


def _calls() -> None:
    table = "whatsapp_calls"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("started_at", _MOMENT, nullable=True),
        sa.Column("ended_at", _MOMENT, nullable=True),
        sa.Column("session_started_at", _MOMENT, nullable=True),
        sa.Column("user_wa_id", sa.String(length=20), nullable=False),
        sa.Column("whatsapp_contact_id", sa.Uuid(), nullable=True),
        sa.Column("whatsapp_conversation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(table, "project_id", "projects"),
        _fk(table, "whatsapp_config_id", "whatsapp_configs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "whatsapp_config_id", "call_id", name=op.f("uq_whatsapp_calls_config_call")
        ),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(
            "ix_whatsapp_calls_project_created", ["project_id", "created_at"], unique=False
        )


def _permissions() -> None:
    table = "whatsapp_call_permissions"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_contact_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=True),
        sa.Column("expires_at", _MOMENT, nullable=True),
        sa.Column("last_event_message_id", sa.String(length=200), nullable=True),
        sa.Column("last_event_at", _MOMENT, nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(table, "project_id", "projects"),
        _fk(table, "whatsapp_contact_id", "whatsapp_contacts", ondelete="CASCADE"),
        _fk(table, "whatsapp_config_id", "whatsapp_configs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "whatsapp_contact_id",
            "whatsapp_config_id",
            name=op.f("uq_call_permissions_contact_config"),
        ),
    )


def upgrade() -> None:
    _calls()
    _permissions()


def downgrade() -> None:
    op.drop_table("whatsapp_call_permissions")
    op.drop_table("whatsapp_calls")
