"""Concurrent writes over real HTTP: each one succeeds or gets a clear 4xx, never a 500.

Every write endpoint is raced by ``CONCURRENT`` clients through a real uvicorn server
(the ``live_url`` fixture) on both databases. On PostgreSQL the requests really run in
parallel transactions; on SQLite the single-writer lock serialises them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import select

from builders import (
    TestProject,
    add_api_trigger,
    ask_and_reply,
    create_active_flow,
    create_flow,
    create_project,
)
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, FlowVersion

CONCURRENT = 8

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _race(live_url: str, request: Request, count: int = CONCURRENT) -> list[httpx.Response]:
    """``count`` requests released at once; their responses."""
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=live_url, timeout=60, limits=limits) as http:

        async def one(i: int) -> httpx.Response:
            await start.wait()
            return await request(http, i)

        tasks = [asyncio.create_task(one(i)) for i in range(count)]
        await asyncio.sleep(0)
        start.set()
        return list(await asyncio.gather(*tasks))


def _codes(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def _no_500(responses: list[httpx.Response]) -> None:
    assert all(r.status_code < 500 for r in responses), [(r.status_code, r.text) for r in responses]


async def _project(resources: Resources, sandbox_url: str) -> TestProject:
    return await create_project(resources, sandbox_url)


async def _version_numbers(resources: Resources, flow_id: str) -> list[int]:
    async with resources.db.session() as session:
        rows = await session.execute(
            select(FlowVersion.number).where(FlowVersion.flow_id == uuid.UUID(flow_id))
        )
        return sorted(rows.scalars())


@pytest.mark.slow
async def test_concurrent_flow_edits_each_make_a_version(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())

    async def patch(http: httpx.AsyncClient, i: int) -> httpx.Response:
        # Only a definition: a changed name would lock the flow row by chance (autoflush).
        body = {"flow": {"definition": ask_and_reply(reply=f"v{i}")}}
        return await http.patch(f"/api/v1/flows/{flow['id']}", headers=project.headers, json=body)

    responses = await _race(live_url, patch)

    assert _codes(responses) == {200: CONCURRENT}, [(r.status_code, r.text) for r in responses]
    assert await _version_numbers(resources, flow["id"]) == list(range(1, CONCURRENT + 2))


@pytest.mark.slow
async def test_concurrent_flow_creates_all_succeed(
    resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)

    async def create(http: httpx.AsyncClient, i: int) -> httpx.Response:
        body = {"flow": {"name": "Same name", "definition": ask_and_reply()}}
        return await http.post("/api/v1/flows", headers=project.headers, json=body)

    responses = await _race(live_url, create)

    assert _codes(responses) == {201: CONCURRENT}, [(r.status_code, r.text) for r in responses]
    assert len({r.json()["data"]["id"] for r in responses}) == CONCURRENT


@pytest.mark.slow
async def test_concurrent_function_creates_one_wins_the_rest_conflict(
    resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    body = {"function": {"name": "Process order", "url": "https://x.test/f", "secret": "s" * 32}}

    async def create(http: httpx.AsyncClient, i: int) -> httpx.Response:
        return await http.post("/api/v1/functions", headers=project.headers, json=body)

    responses = await _race(live_url, create)

    assert _codes(responses) == {201: 1, 409: CONCURRENT - 1}, [
        (r.status_code, r.text) for r in responses
    ]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"] == "Conflict", response.text
            assert "process-order" in response.json()["message"]


@pytest.mark.slow
async def test_concurrent_trigger_creates_and_patches_all_succeed(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())

    async def create(http: httpx.AsyncClient, i: int) -> httpx.Response:
        body = {"trigger": {"trigger_type": "api_call", "active": i % 2 == 0}}
        path = f"/api/v1/flows/{flow['id']}/triggers"
        return await http.post(path, headers=project.headers, json=body)

    created = await _race(live_url, create)
    assert _codes(created) == {201: CONCURRENT}, [(r.status_code, r.text) for r in created]
    trigger_id = created[0].json()["data"]["id"]

    async def patch(http: httpx.AsyncClient, i: int) -> httpx.Response:
        body = {"trigger": {"active": i % 2 == 0}}
        path = f"/api/v1/triggers/{trigger_id}"
        return await http.patch(path, headers=project.headers, json=body)

    patched = await _race(live_url, patch)
    assert _codes(patched) == {200: CONCURRENT}, [(r.status_code, r.text) for r in patched]


@pytest.mark.slow
async def test_concurrent_trigger_deletes_and_patches_never_500(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply())
    trigger = await add_api_trigger(client, project, flow["id"])
    path = f"/api/v1/triggers/{trigger['id']}"

    async def delete_or_patch(http: httpx.AsyncClient, i: int) -> httpx.Response:
        if i % 2:
            return await http.delete(path, headers=project.headers)
        return await http.patch(path, headers=project.headers, json={"trigger": {"active": False}})

    responses = await _race(live_url, delete_or_patch)

    _no_500(responses)
    deletes = [r.status_code for i, r in enumerate(responses) if i % 2]
    assert Counter(deletes) == {204: 1, 404: len(deletes) - 1}, deletes
    assert set(_codes(responses)) <= {200, 204, 404}
    gone = await client.get(f"/api/v1/flows/{flow['id']}/triggers", headers=project.headers)
    assert gone.json()["data"] == []


@pytest.mark.slow
async def test_concurrent_execution_creates_all_start(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())

    async def start(http: httpx.AsyncClient, i: int) -> httpx.Response:
        body = {"phone_number": "+15550001111", "variables": {"i": i}}
        path = f"/api/v1/flows/{flow_id}/executions"
        return await http.post(path, headers=project.headers, json=body)

    responses = await _race(live_url, start)

    assert _codes(responses) == {202: CONCURRENT}, [(r.status_code, r.text) for r in responses]
    async with resources.db.session() as session:
        rows = await session.execute(
            select(FlowExecution.id).where(FlowExecution.flow_id == uuid.UUID(flow_id))
        )
        assert len(list(rows.scalars())) == CONCURRENT
    shown = await client.get(f"/api/v1/flows/{flow_id}", headers=project.headers)
    assert shown.json()["data"]["execution_count"] == CONCURRENT


@pytest.mark.slow
async def test_concurrent_execution_creates_with_one_idempotency_key_start_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    headers = {**project.headers, "Idempotency-Key": "same-key"}

    async def start(http: httpx.AsyncClient, i: int) -> httpx.Response:
        body = {"phone_number": "+15550001111"}
        return await http.post(f"/api/v1/flows/{flow_id}/executions", headers=headers, json=body)

    responses = await _race(live_url, start)

    _no_500(responses)
    assert set(_codes(responses)) <= {202, 409}, [(r.status_code, r.text) for r in responses]
    tracking = {r.json()["tracking_id"] for r in responses if r.status_code == 202}
    assert len(tracking) == 1
    async with resources.db.session() as session:
        rows = await session.execute(
            select(FlowExecution.id).where(FlowExecution.flow_id == uuid.UUID(flow_id))
        )
        assert len(list(rows.scalars())) == 1


@pytest.mark.slow
async def test_concurrent_function_deletes_one_wins_the_rest_are_404(
    resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await _project(resources, sandbox_url)
    body = {"function": {"name": "Gone soon", "url": "https://x.test/f", "secret": "s" * 32}}
    async with httpx.AsyncClient(base_url=live_url) as http:
        created = await http.post("/api/v1/functions", headers=project.headers, json=body)
    assert created.status_code == 201, created.text

    async def delete(http: httpx.AsyncClient, i: int) -> httpx.Response:
        ref = created.json()["data"]["id"] if i % 2 else "gone-soon"
        return await http.delete(f"/api/v1/functions/{ref}", headers=project.headers)

    responses = await _race(live_url, delete)

    assert _codes(responses) == {204: 1, 404: CONCURRENT - 1}, [
        (r.status_code, r.text) for r in responses
    ]
