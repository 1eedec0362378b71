"""Permanent call failures take the ``error`` edge at once, identically on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from http_stub import HttpStub
from sqlalchemy import select

from builders import chain, create_project, edge, execution_events, node, run_flow
from threadline.kit.resources import Resources
from threadline.models import Job


def _guarded(call: dict[str, Any]) -> dict[str, Any]:
    definition = chain(node("start", "start"), call, node("ok", "send_text", message="ok"))
    definition["nodes"].append(node("sorry", "send_text", message="sorry"))
    definition["edges"].append(edge("call", "sorry", "error"))
    return definition


async def _attempts(resources: Resources) -> list[int]:
    async with resources.db.session() as session:
        return list((await session.execute(select(Job.attempts))).scalars())


async def _error_of(client: httpx.AsyncClient, project: Any, execution: dict[str, Any]) -> str:
    """The call's error from the event log, asserting the node left by its error edge."""
    events = await execution_events(client, project, execution["id"])
    left = [
        e["data"]["edge"] for e in events if e["kind"] == "step_left" and e["node_id"] == "call"
    ]
    assert left == ["error"], events
    [finished] = [e for e in events if e["kind"] in ("call_finished", "call_refused")]
    return str(finished["data"]["error"])


async def test_a_non_ascii_header_value_takes_the_error_edge_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    call = node(
        "call", "webhook", url=http_stub.url("/h"), headers={"X-Name": "{{vars.name}}"}, retries=2
    )
    execution = await run_flow(
        client, resources, project, _guarded(call), variables={"name": "José"}
    )
    assert execution["status"] == "ended"
    assert "X-Name" in await _error_of(client, project, execution)
    assert http_stub.requests == []
    assert await _attempts(resources) == []  # no job left retrying


@pytest.mark.parametrize("url", ["http://bad host.example/x", "http://a.example:99999/"])
async def test_an_invalid_url_takes_the_error_edge_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    call = node("call", "webhook", url=url, retries=2)
    execution = await run_flow(client, resources, project, _guarded(call))
    assert execution["status"] == "ended"
    assert "URL" in await _error_of(client, project, execution)


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
    execution = await run_flow(client, resources, project, _guarded(call))
    assert execution["status"] == "ended", execution
    assert execution["variables"]["r"] == saved
    assert len(http_stub.received("/odd")) == 1
