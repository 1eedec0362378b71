"""model_providers, project_models and model_calls: the project model registry and usage

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = sa.DateTime(timezone=True)
_PRICE = sa.Numeric(14, 8)
_DEFAULT = sa.text("is_default")
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    name = op.f(f"fk_{table}_{column}_{target}")
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=name)


def _providers() -> None:
    table = "model_providers"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("base_url", sa.String(length=2000), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_key_hint", sa.String(length=4), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(table, "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_model_providers_name")),
    )


def _models() -> None:
    table = "project_models"
    op.create_table(
        table,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("max_tokens", sa.Integer(), nullable=True),
        sa.Column("reasoning_effort", sa.String(length=10), nullable=True),
        sa.Column("input_price_per_million", _PRICE, nullable=True),
        sa.Column("output_price_per_million", _PRICE, nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        _fk(table, "project_id", "projects"),
        _fk(table, "provider_id", "model_providers"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_project_models_name")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index("ix_project_models_provider", ["provider_id"], unique=False)
        # At most one default per project, decided by the database under concurrency.
        batch_op.create_index(
            "uq_project_models_one_default",
            ["project_id"],
            unique=True,
            sqlite_where=_DEFAULT,
            postgresql_where=_DEFAULT,
        )


def _calls() -> None:
    table = "model_calls"
    op.create_table(
        table,
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("subject_kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error_class", sa.String(length=100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(18, 10), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        _fk(table, "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index("ix_model_calls_project_created", ["project_id", "created_at"])
        batch_op.create_index(
            "ix_model_calls_project_subject", ["project_id", "subject_kind", "subject_id"]
        )
        batch_op.create_index(
            "ix_model_calls_project_model", ["project_id", "model_name", "created_at"]
        )


def upgrade() -> None:
    _providers()
    _models()
    _calls()


def downgrade() -> None:
    with op.batch_alter_table("model_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_model_calls_project_model")
        batch_op.drop_index("ix_model_calls_project_subject")
        batch_op.drop_index("ix_model_calls_project_created")
    op.drop_table("model_calls")
    with op.batch_alter_table("project_models", schema=None) as batch_op:
        batch_op.drop_index("uq_project_models_one_default")
        batch_op.drop_index("ix_project_models_provider")
    op.drop_table("project_models")
    op.drop_table("model_providers")
