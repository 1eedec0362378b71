"""The SQL of knowledge bases: replace a base's chunks, and search them by full text.

SQLite ranks with FTS5's ``bm25`` (lower is better), PostgreSQL with ``ts_rank`` over
the indexed ``to_tsvector`` expression (higher is better); both come back as a score
where higher is better. The match expressions are built by the caller from quoted
terms only (see ``knowledge.match_terms``), never from the user's text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Uuid, bindparam, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.models import KnowledgeChunk
from threadline.models.knowledge_chunk import FTS_TABLE, TS_CONFIG

Row = tuple[int, str, float]
"""A chunk found: its index, its text, its score (higher is better)."""

_SQLITE_SEARCH = text(
    f"SELECT c.chunk_index, c.text, -bm25({FTS_TABLE}) AS score "
    f"FROM {FTS_TABLE} JOIN knowledge_chunks AS c ON c.id = {FTS_TABLE}.rowid "
    f"WHERE {FTS_TABLE} MATCH :match AND c.project_id = :project_id AND c.kb_id = :kb_id "
    "ORDER BY score DESC, c.chunk_index LIMIT :limit"
).bindparams(bindparam("project_id", type_=Uuid()))

_VECTOR = f"to_tsvector('{TS_CONFIG}'::regconfig, c.text)"
_QUERY = f"to_tsquery('{TS_CONFIG}'::regconfig, :match)"
_POSTGRES_SEARCH = text(
    f"SELECT c.chunk_index, c.text, ts_rank({_VECTOR}, {_QUERY}) AS score "
    f"FROM knowledge_chunks AS c WHERE {_VECTOR} @@ {_QUERY} "
    "AND c.project_id = :project_id AND c.kb_id = :kb_id "
    "ORDER BY score DESC, c.chunk_index LIMIT :limit"
).bindparams(bindparam("project_id", type_=Uuid()))


async def source_digest(session: AsyncSession, project_id: uuid.UUID, kb_id: str) -> str | None:
    """The digest of the text a knowledge base was indexed from, or None if it has none."""
    query = select(KnowledgeChunk.source_digest).where(
        KnowledgeChunk.project_id == project_id, KnowledgeChunk.kb_id == kb_id
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def count_chunks(session: AsyncSession, project_id: uuid.UUID, kb_id: str) -> int:
    """How many chunks a knowledge base has."""
    query = select(func.count()).where(
        KnowledgeChunk.project_id == project_id, KnowledgeChunk.kb_id == kb_id
    )
    return int((await session.execute(query)).scalar_one())


async def replace_chunks(
    session: AsyncSession,
    project_id: uuid.UUID,
    kb_id: str,
    chunks: Sequence[str],
    *,
    digest: str,
    now: datetime,
) -> None:
    """Delete a knowledge base's chunks and insert ``chunks`` in their place."""
    await session.execute(
        delete(KnowledgeChunk).where(
            KnowledgeChunk.project_id == project_id, KnowledgeChunk.kb_id == kb_id
        )
    )
    if not chunks:
        return
    rows = [
        {
            "project_id": project_id,
            "kb_id": kb_id,
            "chunk_index": index,
            "text": chunk,
            "source_digest": digest,
            "created_at": now,
        }
        for index, chunk in enumerate(chunks)
    ]
    await session.execute(insert(KnowledgeChunk), rows)


async def search(
    session: AsyncSession, project_id: uuid.UUID, kb_id: str, match: str, *, limit: int
) -> list[Row]:
    """The best ``limit`` chunks for a match expression in the backend's own syntax."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    statement = _SQLITE_SEARCH if sqlite else _POSTGRES_SEARCH
    params = {"match": match, "project_id": project_id, "kb_id": kb_id, "limit": limit}
    result = await session.execute(statement, params)
    return [(int(index), str(chunk), float(score)) for index, chunk, score in result.all()]
