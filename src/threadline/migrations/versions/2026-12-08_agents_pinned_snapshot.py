"""agents: the snapshot a new execution pins, while the agent is unchanged since

Every start used to read the agent's newest snapshot and compare its graph, prompt and
settings with the agent's. ``pinned_snapshot_id`` names a snapshot equal to the agent
as it is: set when one is taken (by the API or by a start), cleared by an update that
changes what a snapshot holds. NULL (so for every agent here before this revision) means
the next start compares, as before, and records its pin. No foreign key: a pointer the
agents' own writes maintain (snapshots are never deleted).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pinned_snapshot_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("pinned_snapshot_id")
