"""flow_executions run agents too: kind, agent_id, agent_snapshot_id, agent_state, test;
flow_id and flow_version_id become nullable (an agent's execution has neither)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_COMPACTION_DUE = sa.text("ended_at IS NOT NULL AND events_compacted_at IS NULL")
_COMPACTION_INDEX = "ix_flow_executions_compaction_due"


def _compaction_index() -> None:
    # Recreated after the batch: SQLite's table copy would not keep the partial predicate.
    op.create_index(
        _COMPACTION_INDEX,
        "flow_executions",
        ["ended_at"],
        sqlite_where=_COMPACTION_DUE,
        postgresql_where=_COMPACTION_DUE,
    )


def upgrade() -> None:
    op.drop_index(_COMPACTION_INDEX, table_name="flow_executions")
    with op.batch_alter_table("flow_executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="flow", nullable=False)
        )
        batch_op.add_column(sa.Column("agent_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("agent_snapshot_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("agent_state", _JSON, nullable=True))
        batch_op.add_column(
            sa.Column("test", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.alter_column("flow_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column("flow_version_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_foreign_key(
            op.f("fk_flow_executions_agent_id_agents"),
            "agents",
            ["agent_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            op.f("fk_flow_executions_agent_snapshot_id_agent_snapshots"),
            "agent_snapshots",
            ["agent_snapshot_id"],
            ["id"],
        )
        batch_op.create_index("ix_flow_executions_agent_started", ["agent_id", "started_at"])
    _compaction_index()


def downgrade() -> None:
    agents = "SELECT id FROM flow_executions WHERE kind = 'agent'"
    op.execute(f"DELETE FROM execution_events WHERE execution_id IN ({agents})")
    op.execute(f"UPDATE whatsapp_messages SET execution_id = NULL WHERE execution_id IN ({agents})")
    op.execute("DELETE FROM flow_executions WHERE kind = 'agent'")
    op.drop_index(_COMPACTION_INDEX, table_name="flow_executions")
    with op.batch_alter_table("flow_executions", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_executions_agent_started")
        batch_op.drop_constraint(
            op.f("fk_flow_executions_agent_snapshot_id_agent_snapshots"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("fk_flow_executions_agent_id_agents"), type_="foreignkey")
        batch_op.alter_column("flow_version_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("flow_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("test")
        batch_op.drop_column("agent_state")
        batch_op.drop_column("agent_snapshot_id")
        batch_op.drop_column("agent_id")
        batch_op.drop_column("kind")
    _compaction_index()
