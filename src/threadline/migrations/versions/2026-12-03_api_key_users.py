"""api_keys.user_id: a key issued to a person of the project

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_api_keys_user_id_users"), "users", ["user_id"], ["id"])
        batch_op.create_index(op.f("ix_api_keys_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_api_keys_user_id"))
        batch_op.drop_constraint(op.f("fk_api_keys_user_id_users"), type_="foreignkey")
        batch_op.drop_column("user_id")
