"""setup_links: onboarding links of customers, one active per customer

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "setup_links"
_MOMENT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ACTIVE = sa.text("status = 'active'")


def _fk(column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{_TABLE}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("success_redirect_url", sa.Text(), nullable=True),
        sa.Column("failure_redirect_url", sa.Text(), nullable=True),
        sa.Column("allowed_connection_types", _JSON, nullable=False),
        sa.Column("provision_phone_number", sa.Boolean(), nullable=False),
        sa.Column("phone_number_area_code", sa.String(length=10), nullable=True),
        sa.Column("phone_number_country_isos", _JSON, nullable=False),
        sa.Column("theme_config", _JSON, nullable=False),
        sa.Column("whatsapp_config_id", sa.Uuid(), nullable=True),
        sa.Column("used_at", _MOMENT, nullable=True),
        sa.Column("expires_at", _MOMENT, nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk("project_id", "projects"),
        _fk("customer_id", "customers", "CASCADE"),
        _fk("whatsapp_config_id", "whatsapp_configs", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_TABLE}")),
        sa.UniqueConstraint("token_digest", name=op.f(f"uq_{_TABLE}_token_digest")),
    )
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        batch_op.create_index(
            "uq_setup_links_one_active_per_customer",
            ["customer_id"],
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        )
        batch_op.create_index(
            "ix_setup_links_customer_created", ["customer_id", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table(_TABLE)
