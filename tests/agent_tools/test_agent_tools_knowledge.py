"""Knowledge bases: chunking, indexing and ranked full-text retrieval on both databases."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from builders import create_project
from threadline.agent_tools import knowledge
from threadline.agent_tools.knowledge import chunk_text, index_knowledge, kb_retrieval, retrieve
from threadline.kit.resources import Resources
from threadline.models import KnowledgeChunk

FAQ = """Opening hours

We are open Monday to Friday from 9:00 to 17:00. On Saturdays the shop opens at 10:00.

Shipping

Orders ship within two business days. Tracking numbers arrive by email once an order ships.

Returns

You can return any item within 30 days. Refunds go back to the original payment method.

Payment

We accept cards and bank transfers; cash only in the shop.
"""


def test_chunks_keep_paragraphs_together_and_cut_long_ones() -> None:
    assert chunk_text("a\n\nb\n\n\n  c  ", max_chars=100) == ["a\n\nb\n\nc"]
    assert chunk_text("one two\n\nthree four", max_chars=10) == ["one two", "three four"]
    long = "First sentence here. Second one is here too. " * 3
    pieces = chunk_text(long, max_chars=50)
    assert all(len(p) <= 50 for p in pieces) and len(pieces) >= 3
    assert " ".join(pieces).split() == long.split()  # nothing lost
    assert chunk_text("x" * 25, max_chars=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert chunk_text("   \n\n  ") == []


def test_query_terms_are_quoted_words_only() -> None:
    terms = knowledge.query_terms("\"hours\" OR shop* NEAR(a b) -x: 'drop' ; Hours")
    assert terms == ["hours", "or", "shop", "near", "a", "b", "x", "drop"]
    assert knowledge.match_expression(["hours", "a"], dialect="sqlite") == '"hours"* OR "a"'
    assert knowledge.match_expression(["hours", "a"], dialect="postgresql") == "'hours':* | 'a'"


async def _project(resources: Resources, sandbox_url: str, name: str = "Test") -> uuid.UUID:
    return uuid.UUID((await create_project(resources, sandbox_url, name=name)).id)


async def test_index_and_ranked_retrieval(resources: Resources, sandbox_url: str) -> None:
    project = await _project(resources, sandbox_url)
    async with resources.db.transaction() as session:
        count = await index_knowledge(session, project_id=project, kb_id="a:kb_faq", text=FAQ)
    async with resources.db.session() as session:
        found = await retrieve(
            session, project_id=project, kb_id="a:kb_faq", query="when do orders ship?"
        )
        hours = await retrieve(
            session, project_id=project, kb_id="a:kb_faq", query="opening hours saturday"
        )
    assert count == 1  # the whole FAQ fits in one chunk
    assert [c.chunk_index for c in found] == [0] and "ship" in found[0].text
    assert hours and hours[0].score > 0


async def test_ranking_prefers_the_chunk_with_more_matching_words(
    resources: Resources, sandbox_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    chunks = [
        "Cats sleep most of the day.",
        "Refunds of orders are paid back to the card within five days of the return.",
        "A refund is possible.",
        "Dogs bark at night.",
    ]
    async with resources.db.transaction() as session:
        await knowledge.repository.replace_chunks(
            session, project, "kb", chunks, digest="d", now=knowledge.utcnow()
        )
    async with resources.db.session() as session:
        found = await retrieve(session, project_id=project, kb_id="kb", query="refund orders card")
        limited = await retrieve(session, project_id=project, kb_id="kb", query="refund", limit=1)
    assert [c.chunk_index for c in found] == [1, 2]
    assert found[0].score > found[1].score
    assert len(limited) == 1


@pytest.mark.parametrize(
    "query",
    [
        '"shipping',
        "ship* AND NOT (",
        "NEAR(orders ship, 2)",
        "-returns OR",
        "orders: ship'; DROP TABLE knowledge_chunks; --",
        "ship & | ! <-> :*",
    ],
)
async def test_fts_syntax_in_a_query_is_only_text(
    resources: Resources, sandbox_url: str, query: str
) -> None:
    project = await _project(resources, sandbox_url)
    async with resources.db.transaction() as session:
        await index_knowledge(session, project_id=project, kb_id="kb", text=FAQ)
    async with resources.db.session() as session:
        found = await retrieve(session, project_id=project, kb_id="kb", query=query)
        nothing = await retrieve(session, project_id=project, kb_id="kb", query='"" * ( ) :')
    assert found and "ship" in found[0].text.lower()
    assert nothing == []


async def test_reindexing_replaces_and_scopes_to_project_and_kb(
    resources: Resources, sandbox_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    other = await _project(resources, sandbox_url, name="Other")
    async with resources.db.transaction() as session:
        await index_knowledge(session, project_id=project, kb_id="kb", text="Penguins live south.")
        await index_knowledge(session, project_id=other, kb_id="kb", text="Penguins in a zoo.")
        await index_knowledge(session, project_id=project, kb_id="kb2", text="Penguins again.")
    async with resources.db.transaction() as session:
        count = await index_knowledge(session, project_id=project, kb_id="kb", text=FAQ)
    async with resources.db.session() as session:
        gone = await retrieve(session, project_id=project, kb_id="kb", query="penguins")
        theirs = await retrieve(session, project_id=other, kb_id="kb", query="penguins")
        rows = (await session.execute(select(KnowledgeChunk))).scalars().all()
    assert count == 1 and gone == []
    assert [c.text for c in theirs] == ["Penguins in a zoo."]
    assert sorted((str(r.project_id), r.kb_id) for r in rows) == sorted(
        [(str(project), "kb"), (str(other), "kb"), (str(project), "kb2")]
    )


async def test_kb_retrieval_indexes_once_and_formats_for_the_model(
    resources: Resources, sandbox_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    long_faq = "\n\n".join(f"Topic {n}. " + ("filler words here. " * 40) for n in range(5))
    text = FAQ + "\n\n" + long_faq
    config = {"kb_id": "agent1:kb_faq", "knowledge_base_text": text, "limit": 2}
    arguments = {"queries": ["refund days", "refunds", "bank transfer"]}
    async with resources.db.transaction() as session:
        first = await kb_retrieval(session, config, arguments, project_id=project)
    async with resources.db.transaction() as session:
        ids = (await session.execute(select(KnowledgeChunk.id))).scalars().all()
        again = await kb_retrieval(session, config, arguments, project_id=project)
        ids_after = (await session.execute(select(KnowledgeChunk.id))).scalars().all()
    assert not first.is_error
    results = json.loads(first.content)["results"]
    assert len(results) == len(set(results)) >= 1  # each chunk once
    assert any("Refunds" in r for r in results) and any("bank transfers" in r for r in results)
    assert first.details["chunks"] > 1
    assert again.content == first.content and sorted(ids) == sorted(ids_after)  # not reindexed


async def test_kb_retrieval_without_matches_or_arguments(
    resources: Resources, sandbox_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    config = {"key": "kb_x", "knowledge_base_text": FAQ}
    async with resources.db.transaction() as session:
        miss = await kb_retrieval(session, config, {"queries": ["zebra"]}, project_id=project)
        bare = await kb_retrieval(session, config, {}, project_id=project)
        empty = await kb_retrieval(session, {"key": "nothing"}, {"query": "x"}, project_id=project)
    assert not miss.is_error and json.loads(miss.content)["results"] == []
    assert "zebra" in json.loads(miss.content)["message"]
    assert bare.is_error and "queries" in bare.content
    assert empty.is_error and "empty" in empty.content
