"""flow_executions.holds_inbound: an inbox left a message pending for the busy run

Set by the inbox when it finds the execution running, under the execution's row lock;
read back by the compare-and-set that applies a model's answer, so the step that stops
the run knows whether to wake the inbox without asking the messages table.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flow_executions") as batch:
        batch.add_column(
            sa.Column("holds_inbound", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("flow_executions") as batch:
        batch.drop_column("holds_inbound")
