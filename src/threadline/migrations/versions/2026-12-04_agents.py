"""agents, agent_snapshots and agent_whatsapp_configs: the Agents API's tables

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{table}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name, ondelete=ondelete)


def _frozen_fields() -> list[sa.Column[object]]:
    return [
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("graph", _JSON, nullable=False),
        sa.Column("message_debounce_seconds", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
    ]


def _agents() -> None:
    table = "agents"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("agent_version", sa.Integer(), server_default="1", nullable=False),
        *_frozen_fields(),
        _fk(table, "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index("ix_agents_project_created", ["project_id", "created_at"])


def _snapshots() -> None:
    table = "agent_snapshots"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("agent_version", sa.Integer(), nullable=False),
        *_frozen_fields(),
        _fk(table, "project_id", "projects"),
        _fk(table, "agent_id", "agents", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(op.f("ix_agent_snapshots_project_id"), ["project_id"])
        batch_op.create_index("ix_agent_snapshots_agent_created", ["agent_id", "created_at"])


def _whatsapp_configs() -> None:
    table = "agent_whatsapp_configs"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(table, "project_id", "projects"),
        _fk(table, "agent_id", "agents", ondelete="CASCADE"),
        _fk(table, "whatsapp_config_id", "whatsapp_configs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("whatsapp_config_id", name="uq_agent_whatsapp_configs_config"),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(op.f("ix_agent_whatsapp_configs_project_id"), ["project_id"])
        batch_op.create_index("ix_agent_whatsapp_configs_agent", ["agent_id"])


def upgrade() -> None:
    _agents()
    _snapshots()
    _whatsapp_configs()


def downgrade() -> None:
    op.drop_table("agent_whatsapp_configs")
    op.drop_table("agent_snapshots")
    op.drop_table("agents")
