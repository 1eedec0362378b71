"""The egress policy of flow calls: encoded templates, refused addresses, tenant isolation.

The suite's settings allow loopback (``THREADLINE_EGRESS_ALLOW=127.0.0.0/8``) so flows
can call the local stub server; tests of the default policy make their own resources.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from call_flows import call_error, guarded
from http_stub import HttpStub, ReceivedRequest, Reply
from sqlalchemy import update

from builders import (
    TestProject,
    create_active_flow,
    create_project,
    get_execution,
    node,
    register_function,
    run_jobs,
    start_execution,
)
from support import free_port
from threadline.config import Settings
from threadline.executions.failure import fail_execution
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import FlowExecution

SECRET = "a-function-secret-of-some-length"


def _webhook(url: str, **config: Any) -> dict[str, Any]:
    return node("call", "webhook", url=url, method="GET", retries=0, **config)


async def _run(
    client: httpx.AsyncClient,
    runner: Resources,
    project: TestProject,
    definition: dict[str, Any],
    **variables: Any,
) -> dict[str, Any]:
    flow_id = await create_active_flow(client, project, definition)
    execution = await start_execution(client, project, flow_id, variables=variables)
    await run_jobs(runner)
    return await get_execution(client, project, execution["id"])


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[Resources]:
    """Resources with the default egress policy (no allow-list)."""
    resources = Resources.create(settings.model_copy(update={"egress_allow": ""}))
    yield resources
    await resources.close()


# (a) values are encoded for where they land


async def test_a_query_value_cannot_add_a_parameter(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = guarded(_webhook(http_stub.url("/search") + "?q={{vars.q}}&page=1"))
    execution = await _run(client, resources, project, definition, q="x&admin=true#frag")
    [request] = http_stub.received("/search")
    assert parse_qs(request.query) == {"q": ["x&admin=true#frag"], "page": ["1"]}
    assert execution["status"] == "ended"


async def test_a_path_value_stays_one_segment(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = guarded(_webhook(http_stub.url("/orders/{{vars.id}}/items")))
    await _run(client, resources, project, definition, id="../../admin?x=1")
    [request] = http_stub.requests
    assert request.raw_path == "/orders/..%2F..%2Fadmin%3Fx%3D1/items"


async def test_a_dot_segment_from_a_variable_is_refused(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = guarded(_webhook(http_stub.url("/orders/{{vars.id}}/items")))
    execution = await _run(client, resources, project, definition, id="..")
    assert http_stub.requests == []
    assert "'..'" in await call_error(client, project, execution)


async def test_a_host_from_a_variable_is_refused_when_the_flow_is_saved(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    for url in (
        "https://api.example.com{{vars.x}}",
        "https://{{vars.host}}/path",
        "http://api.example.com:{{vars.port}}/",
        "{{vars.url}}",
    ):
        definition = guarded(_webhook(url))
        response = await client.post(
            "/api/v1/flows",
            headers=project.headers,
            json={"flow": {"name": "f", "definition": definition}},
        )
        assert response.status_code == 422, (url, response.text)
        assert "url" in response.text


async def test_a_json_body_is_built_structurally(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    body = '{"name": "{{vars.name}}", "role": "user", "n": "{{vars.n}}"}'
    call = node("call", "webhook", url=http_stub.url("/users"), body=body, retries=0)
    sneaky = 'x", "role": "admin'
    await _run(client, resources, project, guarded(call), name=sneaky, n=3)
    [request] = http_stub.requests
    assert request.json() == {"name": sneaky, "role": "user", "n": 3}
    assert request.headers["content-type"] == "application/json"


async def test_a_json_body_with_a_bare_placeholder_is_refused_when_saved(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    call = node("call", "webhook", url="https://api.example.com/", body='{"n": {{vars.n}}}')
    response = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "f", "definition": guarded(call)}},
    )
    assert response.status_code == 422, response.text
    assert "body" in response.text


async def test_a_line_break_in_a_header_value_is_refused(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    call = _webhook(http_stub.url("/h"), headers={"X-Name": "{{vars.name}}"})
    execution = await _run(client, resources, project, guarded(call), name="a\r\nX-Admin: 1")
    assert http_stub.requests == []
    assert "line break" in await call_error(client, project, execution)


# (b) refused addresses


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://10.1.2.3:8080/", "10.1.2.3 is private"),
        ("http://[fe80::1]/", "fe80::1 is link-local"),
        ("http://[::ffff:169.254.169.254]/", "is link-local"),
        ("http://0.0.0.0:9/", "0.0.0.0 is unspecified"),
        ("http://100.64.0.1/", "100.64.0.1 is shared address space"),
        ("http://224.0.0.1/", "224.0.0.1 is multicast"),
    ],
    ids=["metadata", "private", "link-local-v6", "mapped-v4", "unspecified", "cgnat", "multicast"],
)
async def test_a_call_to_a_refused_address_takes_the_error_edge_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, url: str, reason: str
) -> None:
    project = await create_project(resources, sandbox_url)
    call = node("call", "webhook", url=url, method="GET", retries=3, timeout_seconds=30)
    execution = await _run(client, resources, project, guarded(call))
    assert execution["status"] == "ended"
    error = await call_error(client, project, execution)
    assert error.startswith("egress refused: ") and reason in error, error


async def test_loopback_is_refused_by_default(
    client: httpx.AsyncClient,
    resources: Resources,
    strict: Resources,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    project = await create_project(resources, sandbox_url)
    port = http_stub.base_url.rsplit(":", 1)[1]
    for host, reason in (("127.0.0.1", "127.0.0.1 is loopback"), ("localhost", "is loopback")):
        execution = await _run(
            client, strict, project, guarded(_webhook(f"http://{host}:{port}/secret"))
        )
        error = await call_error(client, project, execution)
        assert error.startswith("egress refused: ") and reason in error, error
    assert http_stub.requests == []


async def test_a_function_on_a_refused_address_is_refused(
    client: httpx.AsyncClient,
    resources: Resources,
    strict: Resources,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    project = await create_project(resources, sandbox_url)
    await register_function(client, project, name="f", url=http_stub.url("/fn"), secret=SECRET)
    call = node("call", "function", function_id="f")
    execution = await _run(client, strict, project, guarded(call))
    assert "egress refused" in await call_error(client, project, execution)
    assert http_stub.requests == []


async def test_the_allow_list_takes_addresses_and_host_names(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    project = await create_project(resources, sandbox_url)
    port = http_stub.base_url.rsplit(":", 1)[1]
    for allow, host in (("10.0.0.0/8, 127.0.0.1", "127.0.0.1"), ("LocalHost", "localhost")):
        runner = Resources.create(settings.model_copy(update={"egress_allow": allow}))
        try:
            definition = guarded(_webhook(f"http://{host}:{port}/allowed"))
            execution = await _run(client, runner, project, definition)
        finally:
            await runner.close()
        assert execution["status"] == "ended"
    # One call per allow-list; a call retried on a loaded machine repeats its idempotency key.
    keys = {request.headers["idempotency-key"] for request in http_stub.received("/allowed")}
    assert len(keys) == 2


async def test_this_servers_own_address_is_refused_even_when_loopback_is_allowed(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    project = await create_project(resources, sandbox_url)
    port = int(http_stub.base_url.rsplit(":", 1)[1])
    own = settings.model_copy(update={"port": port, "host": "0.0.0.0"})
    runner = Resources.create(own)
    try:
        definition = guarded(_webhook(http_stub.url("/sandbox/_sandbox/outbox")))
        execution = await _run(client, runner, project, definition)
    finally:
        await runner.close()
    assert "this server's own address" in await call_error(client, project, execution)
    assert http_stub.requests == []


async def test_a_redirect_to_a_refused_address_is_refused(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    own_port = free_port()  # where "this server" listens in this test
    own = f"http://127.0.0.1:{own_port}/sandbox/_sandbox/outbox"
    http_stub.replies("/to-self", (302, {}, {"Location": own}))
    http_stub.replies("/to-metadata", (302, {}, {"Location": "http://169.254.169.254/latest/"}))
    http_stub.replies("/go", (307, {}, {"Location": "/final"}))
    http_stub.replies("/final", (200, {"landed": True}))
    project = await create_project(resources, sandbox_url)
    runner = Resources.create(settings.model_copy(update={"port": own_port}))
    try:
        to_self = await _run(client, runner, project, guarded(_webhook(http_stub.url("/to-self"))))
        hop = guarded(_webhook(http_stub.url("/to-metadata")))
        to_metadata = await _run(client, runner, project, hop)
        call = _webhook(http_stub.url("/go"), save_response_to="r")
        followed = await _run(client, runner, project, guarded(call))
    finally:
        await runner.close()
    assert f"127.0.0.1:{own_port} is this server's own address" in await call_error(
        client, project, to_self
    )
    assert "redirect to another host (169.254.169.254)" in await call_error(
        client, project, to_metadata
    )
    assert followed["variables"]["r"] == {"landed": True}


# (c) the size of an answer


async def test_an_answer_larger_than_the_cap_takes_the_error_edge(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    http_stub.replies("/big", (200, {"blob": "x" * 5000}))
    http_stub.replies("/small", (200, {"blob": "x" * 500}))
    project = await create_project(resources, sandbox_url)
    runner = Resources.create(settings.model_copy(update={"call_max_response_bytes": 2048}))
    try:
        big = await _run(client, runner, project, guarded(_webhook(http_stub.url("/big"))))
        call = _webhook(http_stub.url("/small"), save_response_to="r")
        small = await _run(client, runner, project, guarded(call))
    finally:
        await runner.close()
    assert "larger than 2048 bytes" in await call_error(client, project, big)
    assert small["variables"]["r"] == {"blob": "x" * 500}


# Item 3: no HTTP state shared between projects


def _sets_a_cookie(_request: ReceivedRequest) -> Reply:
    return 200, {"ok": True}, {"Set-Cookie": "session=A_SECRET; Path=/"}


async def test_a_cookie_set_for_one_project_is_never_sent_for_another(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    http_stub.on("/login", _sets_a_cookie)
    project_a = await create_project(resources, sandbox_url, name="A")
    project_b = await create_project(resources, sandbox_url, name="B")
    await _run(client, resources, project_a, guarded(_webhook(http_stub.url("/login"))))
    await _run(client, resources, project_b, guarded(_webhook(http_stub.url("/check"))))
    await _run(client, resources, project_a, guarded(_webhook(http_stub.url("/check"))))
    assert [r.path for r in http_stub.requests] == ["/login", "/check", "/check"]
    assert all("cookie" not in r.headers for r in http_stub.requests)


async def test_the_shared_client_keeps_no_cookies(
    resources: Resources, http_stub: HttpStub
) -> None:
    """The client of WhatsApp deliveries (the Graph API) stores no cookie either."""
    http_stub.on("/login", _sets_a_cookie)
    await resources.http.get(http_stub.url("/login"))
    await resources.http.get(http_stub.url("/check"))
    assert "cookie" not in http_stub.received("/check")[0].headers
    assert len(resources.http.cookies) == 0


# Item 5 (part): a call job whose execution moved on makes no request


@pytest.mark.parametrize("how", ["failed", "moved-on"])
async def test_a_call_job_of_an_execution_that_moved_on_makes_no_request(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    http_stub: HttpStub,
    how: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, guarded(_webhook(http_stub.url("/x"))))
    execution = await start_execution(client, project, flow_id)
    execution_id = uuid.UUID(execution["id"])
    async with resources.db.transaction() as session:
        if how == "failed":
            await fail_execution(session, execution_id, {"message": "stopped"}, utcnow())
        else:
            await session.execute(
                update(FlowExecution)
                .where(FlowExecution.id == execution_id)
                .values(step_seq=FlowExecution.step_seq + 1)
            )
    await run_jobs(resources)
    assert http_stub.requests == []


async def test_the_connection_goes_to_the_address_that_was_checked(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    http_stub: HttpStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One resolution per connection, checked in full, then a connect to that address.

    ``rebind.test`` answers 127.0.0.1 (allowed in the suite) once and 10.0.0.1 after: a
    second lookup at connect time would reach a private address.
    """
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    answers = ["127.0.0.1", "10.0.0.1"]
    asked: list[str] = []

    async def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("rebind.test", "mixed.test"):
            return await real(host, port, *args, **kwargs)
        asked.append(host)
        found = answers if host == "mixed.test" else [answers[min(len(asked), 2) - 1]]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in found]

    monkeypatch.setattr(loop, "getaddrinfo", resolve)
    port = http_stub.base_url.rsplit(":", 1)[1]
    project = await create_project(resources, sandbox_url)
    execution = await _run(
        client, resources, project, guarded(_webhook(f"http://rebind.test:{port}/r"))
    )
    assert execution["status"] == "ended"
    [request] = http_stub.received("/r")
    assert request.headers["host"] == f"rebind.test:{port}"
    assert asked == ["rebind.test"]

    mixed = guarded(_webhook(f"http://mixed.test:{port}/m"))
    refused = await _run(client, resources, project, mixed)
    error = await call_error(client, project, refused)
    assert "mixed.test resolves to 10.0.0.1, which is private" in error
    assert http_stub.received("/m") == []
