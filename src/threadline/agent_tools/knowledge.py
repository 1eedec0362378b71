"""Knowledge bases of agents: their text indexed in chunks, retrieved by full-text search.

A ``KnowledgeBaseNode`` (or a subagent's ``knowledge_bases[]`` entry) carries its
content as ``knowledge_base_text`` (Kapso's SDK inlines a ``knowledge_base_file`` into
it when it can read the file). The config :func:`kb_retrieval` reads::

    {"kb_id": "<agent id>:kb_faq",        # or "key" / "knowledge_base_key"
     "knowledge_base_text": "Opening hours...", "limit": 3}

``kb_id`` must be unique in the project: the runtime namespaces Kapso's key (by
default ``kb_<node name>``) by its agent. Kapso searches embeddings; Threadline ranks
by full text (bm25 on SQLite, ts_rank on PostgreSQL), with terms matched by prefix so
``order`` finds ``orders``. A query is reduced to its words, each quoted, so FTS
syntax in it (``"``, ``*``, ``NEAR``, ``-``, ``:``) is only ever text.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agent_tools import knowledge_repository as repository
from threadline.agent_tools.result import ToolResult
from threadline.kit.clock import utcnow
from threadline.llm.types import ToolSpec

MAX_CHUNK_CHARS = 1200
MAX_QUERY_TERMS = 32
#: Words shorter than this match exactly; longer ones also match as a prefix.
PREFIX_MIN_CHARS = 3
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_WORDS = re.compile(r"\w+")


KB_RETRIEVAL = "kb_retrieval"


def kb_retrieval_spec(description: str = "") -> ToolSpec:
    """Kapso's ``kb_retrieval`` tool as the model sees it (the key is the runtime's)."""
    queries = {
        "type": "array",
        "items": {"type": "string"},
        "description": "Short searches, each a few keywords of what to look up.",
    }
    return ToolSpec(
        KB_RETRIEVAL,
        description or "Search this step's knowledge base; answer from what it returns.",
        {"type": "object", "properties": {"queries": queries}, "required": ["queries"]},
    )


@dataclass(frozen=True, slots=True)
class Chunk:
    """A chunk found for a query: its place in the text, the text, and how well it
    matched (higher is better; scores compare within one search only)."""

    chunk_index: int
    text: str
    score: float


def _pieces(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph cut to ``max_chars``: at sentence ends, else at spaces, else anywhere."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    out: list[str] = []
    for sentence in _SENTENCES.split(paragraph):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        out.append(sentence)
    return [piece for piece in out if piece]


def chunk_text(text: str, *, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """``text`` in chunks of whole paragraphs (joined while they fit in ``max_chars``);
    a longer paragraph is cut at sentence ends."""
    chunks: list[str] = []
    current = ""
    for paragraph in _PARAGRAPHS.split(text):
        for piece in _pieces(paragraph.strip(), max_chars):
            if current and len(current) + 2 + len(piece) > max_chars:
                chunks.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def digest(text: str) -> str:
    """The SHA-256 of a knowledge base's text (what its chunks remember)."""
    return hashlib.sha256(text.encode()).hexdigest()


async def index_knowledge(
    session: AsyncSession, *, project_id: uuid.UUID, kb_id: str, text: str
) -> int:
    """Replace the knowledge base's chunks by those of ``text``; how many there are now.

    Runs in the caller's transaction (it flushes, never commits).
    """
    chunks = chunk_text(text)
    now = utcnow()
    await repository.replace_chunks(
        session, project_id, kb_id, chunks, digest=digest(text), now=now
    )
    return len(chunks)


async def ensure_indexed(
    session: AsyncSession, *, project_id: uuid.UUID, kb_id: str, text: str
) -> int:
    """Index ``text`` unless the knowledge base already holds exactly this text."""
    if await repository.source_digest(session, project_id, kb_id) == digest(text):
        return await repository.count_chunks(session, project_id, kb_id)
    return await index_knowledge(session, project_id=project_id, kb_id=kb_id, text=text)


def query_terms(query: str) -> list[str]:
    """The words of ``query``, lower-cased, each once, at most :data:`MAX_QUERY_TERMS`."""
    words = dict.fromkeys(word.lower() for word in _WORDS.findall(query))
    return list(words)[:MAX_QUERY_TERMS]


def match_expression(terms: Sequence[str], *, dialect: str) -> str:
    """An OR of the quoted terms in the backend's syntax (FTS5 or ``to_tsquery``)."""
    if dialect == "sqlite":
        return " OR ".join(f'"{t}"' + ("*" if len(t) >= PREFIX_MIN_CHARS else "") for t in terms)
    return " | ".join(f"'{t}'" + (":*" if len(t) >= PREFIX_MIN_CHARS else "") for t in terms)


async def retrieve(
    session: AsyncSession, *, project_id: uuid.UUID, kb_id: str, query: str, limit: int = 5
) -> list[Chunk]:
    """The chunks of the knowledge base that best match ``query``, best first."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    dialect = session.get_bind().dialect.name
    match = match_expression(terms, dialect=dialect)
    rows = await repository.search(session, project_id, kb_id, match, limit=limit)
    return [Chunk(index, text, score) for index, text, score in rows]


def format_results(chunks: Sequence[Chunk], queries: Sequence[str]) -> str:
    """What ``kb_retrieval`` tells the model: Kapso's ``{"results": [...]}``."""
    document: dict[str, Any] = {"results": [chunk.text for chunk in chunks]}
    if not chunks:
        document["message"] = (
            "Nothing in the knowledge base matches " + ", ".join(map(repr, queries)) + ". "
            "Try other words, or tell the user you do not have this information."
        )
    return json.dumps(document, ensure_ascii=False)


async def _indexed(session: AsyncSession, project_id: uuid.UUID, kb_id: str, text: str) -> int:
    """Chunks of the base, indexing ``text`` first; without text, whatever was indexed."""
    if not text.strip():
        return await repository.count_chunks(session, project_id, kb_id)
    return await ensure_indexed(session, project_id=project_id, kb_id=kb_id, text=text)


def _kb_id(config: Mapping[str, Any]) -> str:
    return str(config.get("kb_id") or config.get("key") or config.get("knowledge_base_key") or "")


def _queries(arguments: Mapping[str, Any]) -> list[str]:
    raw = arguments.get("queries", arguments.get("query", []))
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [str(item) for item in items if str(item).strip()]


async def kb_retrieval(
    session: AsyncSession,
    config: Mapping[str, Any],
    arguments: Mapping[str, Any],
    *,
    project_id: uuid.UUID,
) -> ToolResult:
    """Run Kapso's ``kb_retrieval(queries)`` tool: index the config's text if it changed,
    then answer each query's best chunks (each chunk once, best first)."""
    kb_id, queries = _kb_id(config), _queries(arguments)
    if not kb_id:
        return ToolResult("This knowledge base has no key; it cannot be searched.", True)
    if not queries:
        return ToolResult('Give "queries": a list of things to look up.', True)
    count = await _indexed(session, project_id, kb_id, str(config.get("knowledge_base_text") or ""))
    if count == 0:
        return ToolResult("This knowledge base is empty: there is nothing to search.", True)
    limit = int(config.get("limit") or 3)
    found: dict[int, Chunk] = {}
    for query in queries:
        for chunk in await retrieve(
            session, project_id=project_id, kb_id=kb_id, query=query, limit=limit
        ):
            best = found.get(chunk.chunk_index)
            found[chunk.chunk_index] = chunk if best is None or chunk.score > best.score else best
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.chunk_index))
    details = {"kb_id": kb_id, "chunks": count, "found": [c.chunk_index for c in ranked]}
    return ToolResult(format_results(ranked, queries), details=details)
