"""project_id on every child table (backfilled from the parent); retention indexes

``execution_events``, ``flow_versions`` and ``message_status_events`` get a NOT NULL
``project_id`` copied from their parent row; ``jobs`` and ``inbound_webhooks`` a
nullable one (a maintenance job or an app-wide delivery has no project). The events'
index becomes ``(execution_id, id)`` (the page reads in id order), and the retention
gets its to-do index and the two age indexes it deletes by.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, parent table, the child's column naming the parent): rows are backfilled
#: with their parent's project, then the column becomes NOT NULL.
_BACKFILLED = (
    ("execution_events", "flow_executions", "execution_id"),
    ("flow_versions", "flows", "flow_id"),
    ("message_status_events", "whatsapp_configs", "whatsapp_config_id"),
)
_COMPACTION_DUE = sa.text("ended_at IS NOT NULL AND events_compacted_at IS NULL")
_OUTBOX_PENDING = sa.text("status IN ('queued', 'sending')")
_INBOX_PENDING = sa.text("processing_status = 'pending'")
#: Partial indexes of what is still to deliver or process: (name, columns, predicate).
_MESSAGE_INDEXES = (
    ("ix_whatsapp_messages_outbox_conversation", ["conversation_id", "id"], _OUTBOX_PENDING),
    ("ix_whatsapp_messages_outbox_execution", ["execution_id", "id"], _OUTBOX_PENDING),
    ("ix_whatsapp_messages_inbox", ["conversation_id", "meta_timestamp", "id"], _INBOX_PENDING),
)


def _backfill(table: str, parent: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Uuid(), nullable=True))
    op.execute(
        f"UPDATE {table} SET project_id = "
        f"(SELECT p.project_id FROM {parent} p WHERE p.id = {table}.{column})"
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column("project_id", existing_type=sa.Uuid(), nullable=False)


def upgrade() -> None:
    for table, parent, column in _BACKFILLED:
        _backfill(table, parent, column)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("inbound_webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_inbound_webhooks_status_received_at", ["status", "received_at"], unique=False
        )
    op.execute(
        "UPDATE inbound_webhooks SET project_id = (SELECT c.project_id FROM whatsapp_configs c "
        "WHERE c.id = inbound_webhooks.whatsapp_config_id) WHERE whatsapp_config_id IS NOT NULL"
    )
    with op.batch_alter_table("message_status_events", schema=None) as batch_op:
        batch_op.create_index("ix_message_status_events_received_at", ["received_at"], unique=False)
    with op.batch_alter_table("execution_events", schema=None) as batch_op:
        batch_op.drop_index("ix_execution_events_execution_id")
        batch_op.create_index(
            "ix_execution_events_execution_id_id", ["execution_id", "id"], unique=False
        )
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        for name, columns, where in _MESSAGE_INDEXES:
            batch_op.create_index(
                name, columns, unique=False, sqlite_where=where, postgresql_where=where
            )
    with op.batch_alter_table("flow_executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("events_compacted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_flow_executions_compaction_due",
            ["ended_at"],
            unique=False,
            sqlite_where=_COMPACTION_DUE,
            postgresql_where=_COMPACTION_DUE,
        )


def downgrade() -> None:
    with op.batch_alter_table("flow_executions", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_flow_executions_compaction_due",
            sqlite_where=_COMPACTION_DUE,
            postgresql_where=_COMPACTION_DUE,
        )
        batch_op.drop_column("events_compacted_at")
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        for name, _columns, where in _MESSAGE_INDEXES:
            batch_op.drop_index(name, sqlite_where=where, postgresql_where=where)
    with op.batch_alter_table("execution_events", schema=None) as batch_op:
        batch_op.drop_index("ix_execution_events_execution_id_id")
        batch_op.create_index("ix_execution_events_execution_id", ["execution_id"], unique=False)
    with op.batch_alter_table("message_status_events", schema=None) as batch_op:
        batch_op.drop_index("ix_message_status_events_received_at")
    with op.batch_alter_table("inbound_webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_webhooks_status_received_at")
        batch_op.drop_column("project_id")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("project_id")
    for table, _parent, _column in reversed(_BACKFILLED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("project_id")
