"""knowledge_chunks: agents' knowledge bases, with full-text search on both databases

SQLite: an external-content FTS5 table whose rowid is ``knowledge_chunks.id``, kept in
step by triggers. A later batch-mode change of ``knowledge_chunks`` on SQLite rebuilds
the table and drops its triggers: such a migration must create them again
(:func:`sqlite_triggers`). PostgreSQL: a GIN index over the text's search vector.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "knowledge_chunks"
_FTS = "knowledge_chunks_fts"
_TRIGGERS = (
    "knowledge_chunks_fts_insert",
    "knowledge_chunks_fts_delete",
    "knowledge_chunks_fts_update",
)
_FORGET = f"INSERT INTO {_FTS}({_FTS}, rowid, text) VALUES ('delete', old.id, old.text);"
_LEARN = f"INSERT INTO {_FTS}(rowid, text) VALUES (new.id, new.text);"


def sqlite_triggers() -> list[str]:
    """The statements that keep the FTS5 table in step with ``knowledge_chunks``."""
    insert, delete, update = _TRIGGERS
    return [
        f"CREATE TRIGGER {insert} AFTER INSERT ON {_TABLE} BEGIN {_LEARN} END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON {_TABLE} BEGIN {_FORGET} END",
        f"CREATE TRIGGER {update} AFTER UPDATE ON {_TABLE} BEGIN {_FORGET} {_LEARN} END",
    ]


def _table() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("kb_id", sa.String(length=200), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_knowledge_chunks_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_chunks")),
        sa.UniqueConstraint(
            "project_id", "kb_id", "chunk_index", name=op.f("uq_knowledge_chunks_kb_index")
        ),
    )


def _search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE {_FTS} USING fts5(text, content='{_TABLE}', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        for statement in sqlite_triggers():
            op.execute(statement)
        return
    op.execute(
        f"CREATE INDEX ix_knowledge_chunks_search ON {_TABLE} "
        "USING gin (to_tsvector('simple'::regconfig, text))"
    )


def upgrade() -> None:
    _table()
    _search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {_FTS}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_knowledge_chunks_search")
    op.drop_table(_TABLE)
