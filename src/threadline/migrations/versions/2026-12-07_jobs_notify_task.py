"""jobs: the insert trigger's NOTIFY carries the job's task name

A listening worker (jobs/listener.py) then claims that task's jobs at once instead of
probing for every due job first, and ignores a task it does not run. PostgreSQL still
folds identical notifications of one transaction into one: one per task enqueued, at
commit. SQLite has no cross-process notification: nothing to do there.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _function(payload: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION threadline_notify_jobs() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('threadline_jobs', {payload});
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function("NEW.task"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function("''"))
