"""jobs: PostgreSQL notifies listening workers from a trigger, not a statement per transaction

A job due now wakes the workers of every process (LISTEN threadline_jobs). The NOTIFY
used to be a ``SELECT pg_notify(...)`` sent by every transaction that enqueued one: a
round trip per resume. A row trigger does it inside the INSERT; PostgreSQL folds
identical notifications of one transaction into one and delivers it at commit. A
conflicting insert (the job was queued already) inserts nothing and notifies no one,
and a job due later is found by the workers' next poll. SQLite has no cross-process
notification: nothing to do there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION threadline_notify_jobs() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('threadline_jobs', '');
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

CREATE_TRIGGER = """
CREATE TRIGGER jobs_notify_due_now AFTER INSERT ON jobs
FOR EACH ROW WHEN (NEW.run_at <= NEW.created_at)
EXECUTE FUNCTION threadline_notify_jobs()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_FUNCTION)
    op.execute(CREATE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS jobs_notify_due_now ON jobs")
    op.execute("DROP FUNCTION IF EXISTS threadline_notify_jobs()")
