"""Bad input is refused with a 4xx ``{error, status, message}`` body, never a 500, and
changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from builders import (
    TestProject,
    ask_and_reply,
    count_rows,
    create_active_flow,
    create_project,
    get_execution,
    start_execution,
)
from threadline.kit.resources import Resources
from threadline.models import (
    Flow,
    FlowExecution,
    FlowTrigger,
    FlowVersion,
    Function,
    IdempotencyKey,
    Job,
)

JSON = {"content-type": "application/json"}
COUNTED = (Flow, FlowVersion, FlowTrigger, FlowExecution, Function, IdempotencyKey, Job)


@dataclass(frozen=True)
class World:
    """A project with an active flow, its trigger and a waiting execution."""

    project: TestProject
    flow_id: str
    trigger_id: str
    execution_id: str

    def writes(self) -> list[tuple[str, str]]:
        """Every endpoint that takes a JSON body."""
        return [
            ("POST", "/api/v1/flows"),
            ("PATCH", f"/api/v1/flows/{self.flow_id}"),
            ("POST", f"/api/v1/flows/{self.flow_id}/triggers"),
            ("PATCH", f"/api/v1/triggers/{self.trigger_id}"),
            ("POST", f"/api/v1/flows/{self.flow_id}/executions"),
            ("POST", f"/api/v1/flow_executions/{self.execution_id}/resume"),
            ("POST", "/api/v1/functions"),
        ]


@pytest.fixture
async def world(client: httpx.AsyncClient, resources: Resources, sandbox_url: str) -> World:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    triggers = await client.get(f"/api/v1/flows/{flow_id}/triggers", headers=project.headers)
    execution = await start_execution(client, project, flow_id)
    return World(project, flow_id, triggers.json()["data"][0]["id"], execution["id"])


async def _state(client: httpx.AsyncClient, resources: Resources, world: World) -> Any:
    """Everything a bad request could have changed."""
    counts = [await count_rows(resources, model) for model in COUNTED]
    headers = world.project.headers
    flow = await client.get(f"/api/v1/flows/{world.flow_id}/definition", headers=headers)
    triggers = await client.get(f"/api/v1/flows/{world.flow_id}/triggers", headers=headers)
    execution = await get_execution(client, world.project, world.execution_id)
    return counts, flow.json(), triggers.json(), execution


def assert_client_error(response: httpx.Response, status: int | None = None) -> None:
    """A 4xx (``status`` when given) with the ``{error, status, message}`` body."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, resources: Resources, world: World
) -> None:
    before = await _state(client, resources, world)
    for method, path in world.writes():
        for raw in (b"{not json", b'{"flow": {"name": "x"}', b"", b"\xff\xfe"):
            if raw == b"" and path.endswith("/resume"):
                continue  # the resume body is optional
            response = await client.request(
                method, path, headers={**world.project.headers, **JSON}, content=raw
            )
            assert_client_error(response)
            if raw != b"":  # an empty body is a missing one: 422
                assert response.status_code == 400, (method, path, raw, response.text)
                assert response.json()["error"] == "Invalid parameters"
    assert await _state(client, resources, world) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/flows", {"flow": {"name": 5}}, "flow.name"),
        ("POST", "/api/v1/flows", {"flow": {"name": ""}}, "flow.name"),
        ("POST", "/api/v1/flows", {"flow": {"name": "x", "definition": []}}, "flow.definition"),
        ("POST", "/api/v1/flows", {"flow": {"name": "x", "status": "live"}}, "flow.status"),
        ("POST", "/api/v1/flows", {"flow": "x"}, "flow"),
        ("POST", "/api/v1/flows", ["flow"], "body"),
        ("POST", "/api/v1/flows", {"name": "x"}, "flow"),
        ("PATCH", "{flow}", {"flow": {"description": 7}}, "flow.description"),
        ("PATCH", "{flow}", {"flow": {"name": ["a"]}}, "flow.name"),
        ("PATCH", "{flow}", {"name": "x"}, "flow"),
        ("POST", "{flow}/triggers", {"trigger": {"trigger_type": 1}}, "trigger.trigger_type"),
        ("POST", "{flow}/triggers", {"trigger_type": "api_call"}, "trigger"),
        ("PATCH", "{trigger}", {"trigger": {"active": "maybe"}}, "trigger.active"),
        ("PATCH", "{trigger}", {"active": False}, "trigger"),
        ("POST", "{flow}/executions", {"phone_number": 15550001111}, "phone_number"),
        ("POST", "{flow}/executions", {}, "phone_number"),
        (
            "POST",
            "{flow}/executions",
            {"phone_number": "+15550001111", "variables": ["a"]},
            "variables",
        ),
        ("POST", "{execution}/resume", {"input": 5}, "input"),
        ("POST", "{execution}/resume", {"message": "hi"}, "message"),
        ("POST", "{execution}/resume", {"input": "x" * 4097}, "input"),
        ("POST", "/api/v1/functions", {"function": {"name": "f", "url": "ftp://x"}}, None),
    ],
)
async def test_wrong_types_and_missing_root_keys_are_422(
    client: httpx.AsyncClient,
    resources: Resources,
    world: World,
    method: str,
    path: str,
    body: Any,
    field: str | None,
) -> None:
    path = path.format(
        flow=f"/api/v1/flows/{world.flow_id}",
        trigger=f"/api/v1/triggers/{world.trigger_id}",
        execution=f"/api/v1/flow_executions/{world.execution_id}",
    )
    before = await _state(client, resources, world)
    response = await client.request(method, path, headers=world.project.headers, json=body)
    assert_client_error(response, 422)
    details = response.json()["errors"]
    if field is not None:
        assert field in [d["field"] for d in details], details
    assert await _state(client, resources, world) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/flows/{id}"),
        ("PATCH", "/api/v1/flows/{id}"),
        ("GET", "/api/v1/flows/{id}/definition"),
        ("GET", "/api/v1/flows/{id}/triggers"),
        ("POST", "/api/v1/flows/{id}/triggers"),
        ("PATCH", "/api/v1/triggers/{id}"),
        ("DELETE", "/api/v1/triggers/{id}"),
        ("GET", "/api/v1/flows/{id}/executions"),
        ("POST", "/api/v1/flows/{id}/executions"),
        ("GET", "/api/v1/flow_executions/{id}"),
        ("POST", "/api/v1/flow_executions/{id}/resume"),
        ("GET", "/api/v1/flow_executions/{id}/events"),
        ("GET", "/api/v1/projects/{id}"),
        ("GET", "/api/v1/functions/{id}"),
        ("DELETE", "/api/v1/functions/{id}"),
    ],
)
async def test_unknown_and_malformed_ids_are_4xx(
    client: httpx.AsyncClient, resources: Resources, world: World, method: str, path: str
) -> None:
    bodies = {
        "/api/v1/flows/{id}": {"flow": {"name": "x"}},
        "/api/v1/flows/{id}/triggers": {"trigger": {"trigger_type": "api_call"}},
        "/api/v1/triggers/{id}": {"trigger": {"active": False}},
        "/api/v1/flows/{id}/executions": {"phone_number": "+15550001111"},
        "/api/v1/flow_executions/{id}/resume": {"input": "x"},
    }
    body = bodies.get(path) if method != "GET" else None
    before = await _state(client, resources, world)
    unknown = await client.request(
        method, path.format(id=uuid.uuid4()), headers=world.project.headers, json=body
    )
    assert_client_error(unknown, 404)
    for malformed in ("not-a-uuid", "123", "flow-123abc", f"{uuid.uuid4()}x"):
        response = await client.request(
            method, path.format(id=malformed), headers=world.project.headers, json=body
        )
        # A path id that is not a UUID is 422 where the route declares a UUID, else 404.
        assert_client_error(response)
        assert response.status_code in (404, 422), response.text
    assert await _state(client, resources, world) == before


async def _chunks(total: int) -> AsyncIterator[bytes]:
    yield b'{"flow": {"name": "'
    for _ in range(total // 100_000):
        yield b"a" * 100_000
    yield b'"}}'


async def test_oversized_bodies_are_413(
    client: httpx.AsyncClient, resources: Resources, world: World
) -> None:
    before = await _state(client, resources, world)
    big = b'{"flow": {"name": "' + b"a" * 1_100_000 + b'"}}'
    for method, path in world.writes():
        headers = {**world.project.headers, **JSON}
        declared = await client.request(method, path, headers=headers, content=big)
        assert_client_error(declared, 413)
        assert declared.json()["error"] == "Payload too large"
        # Streamed without a Content-Length, the limit is found while reading.
        streamed = await client.request(method, path, headers=headers, content=_chunks(1_100_000))
        assert "content-length" not in streamed.request.headers
        assert_client_error(streamed, 413)
        assert streamed.json()["error"] == "Payload too large"
    assert await _state(client, resources, world) == before


async def test_a_body_just_under_the_limit_is_accepted(
    client: httpx.AsyncClient, resources: Resources, world: World
) -> None:
    description = "d" * 9_000
    response = await client.post(
        "/api/v1/flows",
        headers={**world.project.headers, **JSON},
        content=b'{"flow": {"name": "Padded", "description": "'
        + description.encode()
        + b'"}, "padding": "'
        + b" " * 980_000
        + b'"}',
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["description"] == description


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/api/v1/flows", b'{"flow": {"name": "a\\u0000b"}}'),
        ("POST", "/api/v1/flows", b'{"flow": {"name": "ok", "description": "\\u0000"}}'),
        ("PATCH", "{flow}", b'{"flow": {"name": "a\\u0000b"}}'),
        (
            "POST",
            "{flow}/executions",
            b'{"phone_number": "+15550001111", "variables": {"x": "a\\u0000"}}',
        ),
        (
            "POST",
            "{flow}/executions",
            b'{"phone_number": "+15550001111", "context": {"k\\u0000": 1}}',
        ),
        ("POST", "{flow}/executions", b'{"phone_number": "+15550001111", "variables": {"x": NaN}}'),
        (
            "POST",
            "{flow}/executions",
            b'{"phone_number": "+15550001111", "variables": {"x": -Infinity}}',
        ),
        (
            "POST",
            "{flow}/executions",
            b'{"phone_number": "+15550001111", "variables": {"x": 1e999}}',
        ),
        ("POST", "{execution}/resume", b'{"input": "a\\u0000b"}'),
        ("POST", "{execution}/resume", b'{"message": {"n": NaN}}'),
        ("GET", "/api/v1/functions/a%00b", b""),
        ("DELETE", "/api/v1/functions/a%00b", b""),
        ("GET", "/api/v1/projects/a%00b", b""),
    ],
)
async def test_input_the_database_cannot_store_is_4xx(
    client: httpx.AsyncClient,
    resources: Resources,
    world: World,
    method: str,
    path: str,
    raw: bytes,
) -> None:
    """NUL characters and NaN/Infinity: SQLite would take them, PostgreSQL would not."""
    path = path.format(
        flow=f"/api/v1/flows/{world.flow_id}",
        execution=f"/api/v1/flow_executions/{world.execution_id}",
    )
    before = await _state(client, resources, world)
    response = await client.request(
        method, path, headers={**world.project.headers, **JSON}, content=raw or None
    )
    assert_client_error(response)
    assert await _state(client, resources, world) == before


async def test_unknown_routes_and_methods_are_json_errors(
    client: httpx.AsyncClient, world: World
) -> None:
    missing = await client.get("/api/v1/nothing-here", headers=world.project.headers)
    assert_client_error(missing, 404)
    wrong_method = await client.delete(
        f"/api/v1/flows/{world.flow_id}", headers=world.project.headers
    )
    assert_client_error(wrong_method, 405)
    assert wrong_method.json()["error"] == "Method not allowed"
