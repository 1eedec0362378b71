"""The indexed text of agents' knowledge bases, in chunks, searched by full text.

Full-text search lives beside the table and is not part of the models (so it is left
out of Alembic's comparison, :func:`include_name`): on SQLite an FTS5 table
``knowledge_chunks_fts`` that triggers keep in step with this one (its rowid is this
table's ``id``), on PostgreSQL a GIN index over ``to_tsvector('simple', text)``.
Both are created by the migration.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.kit.db import Base
from threadline.models._types import BigId, UtcDateTime

#: The SQLite FTS5 table (and the prefix of its shadow tables).
FTS_TABLE = "knowledge_chunks_fts"
#: The PostgreSQL GIN index of the chunks' text search vectors.
SEARCH_INDEX = "ix_knowledge_chunks_search"
#: The text search configuration of that index (queries must name the same one).
TS_CONFIG = "simple"


class KnowledgeChunk(Base):
    """One chunk (``chunk_index`` from 0) of a knowledge base's text.

    ``kb_id`` names the knowledge base within its project (Kapso's ``key``, by default
    ``kb_<node name>``, namespaced by its agent); ``source_digest`` is the SHA-256 of
    the whole text the chunks came from, so an unchanged text is not indexed again.
    """

    __tablename__ = "knowledge_chunks"
    __table_args__ = (
        UniqueConstraint("project_id", "kb_id", "chunk_index", name="uq_knowledge_chunks_kb_index"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"))
    kb_id: Mapped[str] = mapped_column(String(200))
    chunk_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    source_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: the full-text search objects are the migration's, not the models'."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == SEARCH_INDEX)
