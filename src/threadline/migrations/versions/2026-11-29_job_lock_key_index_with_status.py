"""job lock key index with status

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 07:56:22.745705
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_lock_key"))
        batch_op.create_index("ix_jobs_lock_key_status", ["lock_key", "status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Every job row is inserted, updated and deleted within seconds: vacuum and
        # analyze it after a fixed number of changes, not a fraction of a tiny table.
        op.execute(
            "ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0, "
            "autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0, "
            "autovacuum_analyze_threshold = 1000)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE jobs RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
            "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_lock_key_status")
        batch_op.create_index(batch_op.f("ix_jobs_lock_key"), ["lock_key"], unique=False)
