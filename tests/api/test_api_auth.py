"""Authentication and project isolation: keys are checked, other projects' data is invisible."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from builders import (
    TestProject,
    ask_and_reply,
    count_rows,
    create_active_flow,
    create_flow,
    create_project,
    get_execution,
    resume,
    start_execution,
)
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import ApiKey, Flow, FlowExecution, Job

UNAUTHORIZED = "Invalid or missing API key"


def assert_error(response: httpx.Response, status: int, error: str | None = None) -> None:
    """The response is ``status`` with the ``{error, status, message}`` body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    if error is not None:
        assert body["error"] == error


def _requests(project_id: str, flow_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    execution_id = str(uuid.uuid4())
    trigger_id = str(uuid.uuid4())
    return [
        ("GET", f"/api/v1/projects/{project_id}", None),
        ("GET", "/api/v1/flows", None),
        ("POST", "/api/v1/flows", {"flow": {"name": "Sneaky"}}),
        ("GET", f"/api/v1/flows/{flow_id}", None),
        ("PATCH", f"/api/v1/flows/{flow_id}", {"flow": {"name": "Renamed"}}),
        ("GET", f"/api/v1/flows/{flow_id}/definition", None),
        ("GET", f"/api/v1/flows/{flow_id}/triggers", None),
        ("POST", f"/api/v1/flows/{flow_id}/triggers", {"trigger": {"trigger_type": "api_call"}}),
        ("PATCH", f"/api/v1/triggers/{trigger_id}", {"trigger": {"active": False}}),
        ("DELETE", f"/api/v1/triggers/{trigger_id}", None),
        ("GET", f"/api/v1/flows/{flow_id}/executions", None),
        ("POST", f"/api/v1/flows/{flow_id}/executions", {"phone_number": "+15550001111"}),
        ("GET", f"/api/v1/flow_executions/{execution_id}", None),
        ("POST", f"/api/v1/flow_executions/{execution_id}/resume", {"input": "x"}),
        ("GET", f"/api/v1/flow_executions/{execution_id}/events", None),
        ("GET", "/api/v1/functions", None),
    ]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "tl_not-a-real-key"}, {"Authorization": "Bearer x"}],
    ids=["missing", "empty", "unknown", "bearer-instead"],
)
async def test_requests_without_a_valid_key_are_401(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, headers: dict[str, str]
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, name="Original")
    for method, path, body in _requests(project.id, flow["id"]):
        response = await client.request(method, path, headers=headers, json=body)
        assert_error(response, 401, UNAUTHORIZED)
    assert await count_rows(resources, Flow) == 1
    unchanged = await client.get(f"/api/v1/flows/{flow['id']}", headers=project.headers)
    assert unchanged.json()["data"]["name"] == "Original"


async def test_a_revoked_key_is_401(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    assert (await client.get("/api/v1/flows", headers=project.headers)).status_code == 200
    async with resources.db.transaction() as session:
        await session.execute(update(ApiKey).values(revoked_at=utcnow()))
    assert_error(await client.get("/api/v1/flows", headers=project.headers), 401, UNAUTHORIZED)


async def test_project_is_visible_only_to_its_own_key(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")

    own = await client.get(f"/api/v1/projects/{mine.id}", headers=mine.headers)
    assert own.status_code == 200
    assert own.json()["data"]["id"] == mine.id
    assert own.json()["data"]["name"] == "Mine"

    other = await client.get(f"/api/v1/projects/{theirs.id}", headers=mine.headers)
    assert_error(other, 404, "Project not found")
    unknown = await client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=mine.headers)
    assert_error(unknown, 404, "Project not found")


async def _owned_world(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> tuple[TestProject, TestProject, str, str, str]:
    owner = await create_project(resources, sandbox_url, name="Owner")
    intruder = await create_project(resources, sandbox_url, name="Intruder")
    flow_id = await create_active_flow(client, owner, ask_and_reply(), name="Owned")
    triggers = await client.get(f"/api/v1/flows/{flow_id}/triggers", headers=owner.headers)
    trigger_id = triggers.json()["data"][0]["id"]
    execution = await start_execution(client, owner, flow_id)
    return owner, intruder, flow_id, trigger_id, execution["id"]


async def test_reads_of_another_projects_resources_are_404(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner, intruder, flow_id, _trigger_id, execution_id = await _owned_world(
        client, resources, sandbox_url
    )
    reads = {
        f"/api/v1/flows/{flow_id}": "Flow not found",
        f"/api/v1/flows/{flow_id}/definition": "Flow not found",
        f"/api/v1/flows/{flow_id}/triggers": "Flow not found",
        f"/api/v1/flows/{flow_id}/executions": "Flow not found",
        f"/api/v1/flow_executions/{execution_id}": "Flow execution not found",
        f"/api/v1/flow_executions/{execution_id}/events": "Flow execution not found",
        f"/api/v1/projects/{owner.id}": "Project not found",
    }
    for path, error in reads.items():
        assert_error(await client.get(path, headers=intruder.headers), 404, error)
    listing = await client.get("/api/v1/flows", headers=intruder.headers)
    assert listing.json()["data"] == []


async def test_writes_on_another_projects_resources_are_404_and_change_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner, intruder, flow_id, trigger_id, execution_id = await _owned_world(
        client, resources, sandbox_url
    )

    async def snapshot() -> tuple[Any, ...]:
        flow = await client.get(f"/api/v1/flows/{flow_id}/definition", headers=owner.headers)
        triggers = await client.get(f"/api/v1/flows/{flow_id}/triggers", headers=owner.headers)
        execution = await get_execution(client, owner, execution_id)
        return flow.json(), triggers.json(), execution

    before = await snapshot()
    jobs_before = await count_rows(resources, Job)
    writes: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: client.patch(
            f"/api/v1/flows/{flow_id}",
            headers=intruder.headers,
            json={"flow": {"name": "Hijacked", "status": "archived"}},
        ),
        lambda: client.patch(
            f"/api/v1/triggers/{trigger_id}",
            headers=intruder.headers,
            json={"trigger": {"active": False}},
        ),
        lambda: client.delete(f"/api/v1/triggers/{trigger_id}", headers=intruder.headers),
        lambda: client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            headers=intruder.headers,
            json={"trigger": {"trigger_type": "api_call"}},
        ),
        lambda: client.post(
            f"/api/v1/flows/{flow_id}/executions",
            headers=intruder.headers,
            json={"phone_number": "+15550002222"},
        ),
        lambda: resume(client, intruder, execution_id, {"input": "hijack"}),
    ]
    for write in writes:
        assert_error(await write(), 404)

    assert await snapshot() == before
    assert await count_rows(resources, FlowExecution) == 1
    assert await count_rows(resources, Job) == jobs_before
    # The owner can still do all of it.
    resumed = await resume(client, owner, execution_id, {"input": "mine"})
    assert resumed.status_code == 200
