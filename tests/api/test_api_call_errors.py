"""Permanent call failures take the ``error`` edge at once, identically on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from call_flows import call_error, guarded
from http_stub import HttpStub
from sqlalchemy import select

from builders import create_project, node, run_flow
from threadline.conversations.service import EXPIRE_TASK
from threadline.kit.resources import Resources
from threadline.models import Job


async def _attempts(resources: Resources) -> list[int]:
    """Attempts of the jobs left, but the conversation's inactivity timer (a day away)."""
    statement = select(Job.attempts).where(Job.task != EXPIRE_TASK)
    async with resources.db.session() as session:
        return list((await session.execute(statement)).scalars())


async def test_a_non_ascii_header_value_takes_the_error_edge_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    call = node(
        "call", "webhook", url=http_stub.url("/h"), headers={"X-Name": "{{vars.name}}"}, retries=2
    )
    execution = await run_flow(
        client, resources, project, guarded(call), variables={"name": "José"}
    )
    assert execution["status"] == "ended"
    assert "X-Name" in await call_error(client, project, execution)
    assert http_stub.requests == []
    assert await _attempts(resources) == []  # no job left retrying


@pytest.mark.parametrize("url", ["http://bad host.example/x", "http://a.example:99999/"])
async def test_an_invalid_url_takes_the_error_edge_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    call = node("call", "webhook", url=url, retries=2)
    execution = await run_flow(client, resources, project, guarded(call))
    assert execution["status"] == "ended"
    assert "URL" in await call_error(client, project, execution)


@pytest.mark.parametrize(
    ("answer", "saved"),
    [(float("nan"), "NaN"), ({"x": float("inf")}, '{"x": Infinity}'), (["\ud800"], ["\ufffd"])],
    ids=["nan", "infinity-inside", "lone-surrogate"],
)
async def test_an_answer_with_non_standard_json_is_stored_the_same_on_both_databases(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    http_stub: HttpStub,
    answer: Any,
    saved: Any,
) -> None:
    http_stub.replies("/odd", (200, answer))
    project = await create_project(resources, sandbox_url)
    call = node("call", "webhook", url=http_stub.url("/odd"), save_response_to="r")
    execution = await run_flow(client, resources, project, guarded(call))
    assert execution["status"] == "ended", execution
    assert execution["variables"]["r"] == saved
    assert len(http_stub.received("/odd")) == 1
