"""Nodes that call out over HTTP (webhook, function, decide), against a real local server."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest
from http_stub import HttpStub, ReceivedRequest, Reply

from builders import (
    chain,
    create_active_flow,
    create_project,
    edge,
    execution_events,
    get_execution,
    node,
    register_function,
    run_flow,
    run_jobs,
)
from threadline.functions.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

SECRET = "a-function-secret-of-some-length"


def _texts(sandbox: SandboxState) -> list[str]:
    return [m.payload["text"]["body"] for m in sandbox.outbox if m.type == "text"]


def _with_error_edge(nodes: list[dict[str, Any]], source: str, target: str) -> dict[str, Any]:
    """``chain(*nodes)`` plus an ``error`` edge from ``source`` to ``target``."""
    definition = chain(*nodes)
    definition["edges"] = [e for e in definition["edges"] if e["target"] != target]
    definition["edges"].append(edge(source, target, "error"))
    return definition


# Webhook


async def test_webhook_sends_an_interpolated_request_and_saves_the_answer(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    http_stub.replies("/orders/A-1", (200, {"status": "shipped", "eta_days": 3}))
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node(
            "call",
            "webhook",
            url=http_stub.url("/orders/{{vars.order_id}}") + "?notify={{context.channel}}",
            method="put",
            headers={"X-Order": "{{vars.order_id}}", "Authorization": "Bearer {{vars.token}}"},
            body={
                "id": "{{vars.order_id}}",
                "items": "{{vars.items}}",
                "note": "for {{vars.name}}",
            },
            save_response_to="shipment",
        ),
        node(
            "say",
            "send_text",
            message="Order {{vars.shipment.status}} in {{vars.shipment.eta_days}}",
        ),
    )
    flow_id = await create_active_flow(client, project, definition)
    started = await client.post(
        f"/api/v1/flows/{flow_id}/executions",
        headers=project.headers,
        json={
            "phone_number": "+15550001111",
            "variables": {"order_id": "A-1", "token": "t0k", "items": [1, 2], "name": "Ada"},
            "context": {"channel": "sms"},
        },
    )
    assert started.status_code == 202
    listing = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=project.headers)
    execution = listing.json()["data"][0]
    assert (execution["status"], execution["current_step"]["step_type"]) == ("running", "webhook")
    await run_jobs(resources)

    [request] = http_stub.requests
    assert (request.method, request.path, request.query) == ("PUT", "/orders/A-1", "notify=sms")
    assert request.headers["x-order"] == "A-1"
    assert request.headers["authorization"] == "Bearer t0k"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"].startswith(f"{execution['id']}:")
    assert request.json() == {"id": "A-1", "items": [1, 2], "note": "for Ada"}

    final = await get_execution(client, project, execution["id"])
    assert final["status"] == "ended"
    assert final["variables"]["shipment"] == {"status": "shipped", "eta_days": 3}
    assert _texts(sandbox) == ["Order shipped in 3"]
    kinds = [e["kind"] for e in await execution_events(client, project, execution["id"])]
    assert kinds.count("call_requested") == kinds.count("call_finished") == 1


async def test_webhook_retries_server_errors_then_goes_on(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    http_stub.replies("/flaky", (500, {}), (503, {}), (200, {"ok": 1}))
    project = await create_project(resources, sandbox_url)
    definition = _with_error_edge(
        [
            node("start", "start"),
            node("call", "webhook", url=http_stub.url("/flaky"), retries=2, save_response_to="r"),
            node("ok", "send_text", message="Done {{vars.r.ok}}"),
            node("sorry", "send_text", message="Sorry"),
        ],
        "call",
        "sorry",
    )
    execution = await run_flow(client, resources, project, definition)

    calls = http_stub.received("/flaky")
    assert len(calls) == 3
    assert len({c.headers["idempotency-key"] for c in calls}) == 1  # one logical call
    assert execution["status"] == "ended"
    assert execution["variables"]["r"] == {"ok": 1}
    assert _texts(sandbox) == ["Done 1"]


@pytest.mark.parametrize(
    ("retries", "replies", "calls", "error"),
    [
        (1, [(503, {"busy": True})], 2, "HTTP 503"),
        (3, [(429, {})], 4, "HTTP 429"),
        (2, [(404, {"missing": True})], 1, "HTTP 404"),
    ],
    ids=["5xx-retried", "429-retried", "4xx-not-retried"],
)
async def test_webhook_failure_takes_the_error_edge(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
    retries: int,
    replies: list[Reply],
    calls: int,
    error: str,
) -> None:
    http_stub.replies("/down", *replies)
    project = await create_project(resources, sandbox_url)
    definition = _with_error_edge(
        [
            node("start", "start"),
            node("call", "webhook", url=http_stub.url("/down"), retries=retries),
            node("ok", "send_text", message="Done"),
            node("sorry", "send_text", message="Sorry: {{system.last_error}}"),
        ],
        "call",
        "sorry",
    )
    execution = await run_flow(client, resources, project, definition)
    assert len(http_stub.received("/down")) == calls
    assert execution["status"] == "ended"
    assert _texts(sandbox) == [f"Sorry: {error}"]


async def test_webhook_failure_without_an_error_edge_fails_the_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    http_stub.replies("/gone", (410, {}))
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node("call", "webhook", url=http_stub.url("/gone"), method="GET"),
        node("ok", "send_text", message="Done"),
    )
    execution = await run_flow(client, resources, project, definition)
    assert execution["status"] == "failed"
    assert execution["error"]["node_id"] == "call"
    assert "HTTP 410" in execution["error"]["message"]
    assert http_stub.received("/gone")[0].method == "GET"


async def test_webhook_to_a_closed_port_is_retried_then_fails(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/nothing"
        definition = chain(
            node("start", "start"),
            node("call", "webhook", url=url, retries=1, timeout_seconds=2),
            node("ok", "send_text", message="Done"),
        )
        execution = await run_flow(client, resources, project, definition)
    assert execution["status"] == "failed"
    assert "ConnectError" in execution["error"]["message"]


# Functions


def signed(secret: str, reply: Reply) -> Any:
    """A handler that answers ``reply`` only to requests signed with ``secret``."""

    def handler(request: ReceivedRequest) -> Reply:
        timestamp = request.headers.get(TIMESTAMP_HEADER.lower(), "")
        signature = request.headers.get(SIGNATURE_HEADER.lower(), "")
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        if not fresh or not verify(secret, int(timestamp), request.body, signature):
            return 401, {"error": "bad signature"}
        return reply

    return handler


def assert_signed(request: ReceivedRequest, secret: str) -> None:
    timestamp = int(request.headers[TIMESTAMP_HEADER.lower()])
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert signature.startswith("sha256=")
    assert verify(secret, timestamp, request.body, signature)
    assert not verify(secret, timestamp, request.body + b" ", signature)
    assert not verify(secret + "x", timestamp, request.body, signature)


async def test_function_node_merges_vars_and_follows_its_answer(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    project = await create_project(resources, sandbox_url)
    function = await register_function(
        client, project, name="Enrich Customer", url=http_stub.url("/fn/enrich"), secret=SECRET
    )
    assert function["slug"] == "enrich-customer"
    http_stub.on(
        "/fn/enrich",
        signed(SECRET, (200, {"next_edge": "next", "vars": {"tier": "gold", "score": 42}})),
    )
    definition = _with_error_edge(
        [
            node("start", "start"),
            node("enrich", "function", function_id="enrich-customer", save_response_to="raw"),
            node("ok", "send_text", message="{{vars.name}} is {{vars.tier}} ({{vars.score}})"),
            node("sorry", "send_text", message="Sorry"),
        ],
        "enrich",
        "sorry",
    )
    execution = await run_flow(client, resources, project, definition, variables={"name": "Ada"})

    [request] = http_stub.received("/fn/enrich")
    assert request.method == "POST"
    assert_signed(request, SECRET)
    document = request.json()
    assert document["kind"] == "function"
    assert document["node_id"] == "enrich"
    assert sorted(document["available_edges"]) == ["error", "next"]
    assert document["execution"]["id"] == execution["id"]
    assert document["execution"]["variables"] == {"name": "Ada"}
    assert document["execution"]["phone_number"] == "+15550001111"
    assert document["flow_events"][-1]["kind"] == "call_requested"
    assert request.headers["idempotency-key"].startswith(f"{execution['id']}:")

    assert execution["status"] == "ended"
    assert execution["variables"]["tier"] == "gold"
    assert execution["variables"]["score"] == 42
    assert execution["variables"]["raw"]["next_edge"] == "next"
    assert _texts(sandbox) == ["Ada is gold (42)"]


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ((200, {"next_edge": "error", "vars": {"why": "blocked"}}), "Sorry: blocked"),
        ((200, {"next_edge": "nowhere"}), "Fine"),
        ((200, {}), "Fine"),
        ((401, {"error": "bad signature"}), "Sorry: "),
        ((200, ["not", "an", "object"]), "Sorry: "),
    ],
    ids=["error-edge", "unknown-edge-is-next", "no-edge-is-next", "refused", "not-an-object"],
)
async def test_function_node_edge_choice_and_failures(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
    answer: Reply,
    text: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    function = await register_function(
        client, project, name="check", url=http_stub.url("/fn/check"), secret=SECRET
    )
    http_stub.on("/fn/check", signed(SECRET, answer))
    definition = _with_error_edge(
        [
            node("start", "start"),
            node("check", "function", function_id=function["id"]),
            node("ok", "send_text", message="Fine"),
            node("sorry", "send_text", message="Sorry: {{vars.why}}"),
        ],
        "check",
        "sorry",
    )
    execution = await run_flow(client, resources, project, definition)
    assert execution["status"] == "ended"
    assert _texts(sandbox) == [text]
    assert len(http_stub.received("/fn/check")) == 1


async def test_an_unknown_function_fails_the_execution(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node("call", "function", function_id="does-not-exist"),
        node("ok", "send_text", message="Fine"),
    )
    execution = await run_flow(client, resources, project, definition)
    assert execution["status"] == "failed"
    assert "does-not-exist" in execution["error"]["message"]
    assert http_stub.requests == []


# Decide


def _decide_flow(function_ref: str) -> dict[str, Any]:
    return {
        "nodes": [
            node("start", "start"),
            node(
                "route",
                "decide",
                decision_type="function",
                function_id=function_ref,
                conditions=[
                    {"label": "vip", "description": "Big spender"},
                    {"label": "regular", "description": "Everyone else"},
                ],
            ),
            node("vip", "send_text", message="Welcome back, VIP ({{vars.discount}}% off)"),
            node("regular", "send_text", message="Hello there"),
        ],
        "edges": [
            edge("start", "route"),
            edge("route", "vip", "vip"),
            edge("route", "regular", "regular"),
        ],
    }


@pytest.mark.parametrize(
    ("choice", "text"),
    [("vip", "Welcome back, VIP (20% off)"), ("regular", "Hello there")],
)
async def test_decide_by_function_follows_the_chosen_edge(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
    choice: str,
    text: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    function = await register_function(
        client, project, name="router", url=http_stub.url("/fn/route"), secret=SECRET
    )
    http_stub.on(
        "/fn/route", signed(SECRET, (200, {"next_edge": choice, "vars": {"discount": 20}}))
    )
    execution = await run_flow(
        client, resources, project, _decide_flow(function["id"]), variables={"spent": 900}
    )

    [request] = http_stub.received("/fn/route")
    assert_signed(request, SECRET)
    document = request.json()
    assert (document["kind"], document["node_id"]) == ("decide", "route")
    assert document["available_edges"] == ["vip", "regular"]
    assert document["execution"]["variables"] == {"spent": 900}

    assert execution["status"] == "ended"
    assert execution["variables"] == {"spent": 900, "discount": 20}
    assert _texts(sandbox) == [text]
    events = await execution_events(client, project, execution["id"])
    decided = [e for e in events if e["kind"] == "decided"]
    assert [(e["node_id"], e["data"]) for e in decided] == [
        ("route", {"edge": choice, "by": "function"})
    ]
    left = [
        e["data"]["edge"] for e in events if e["kind"] == "step_left" and e["node_id"] == "route"
    ]
    assert left == [choice]


@pytest.mark.parametrize(
    "answer",
    [(200, {"next_edge": "gold"}), (200, {"vars": {"x": 1}}), (500, {"oops": True})],
    ids=["unknown-edge", "no-edge", "server-error"],
)
async def test_decide_without_a_usable_answer_fails(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    http_stub: HttpStub,
    answer: Reply,
) -> None:
    project = await create_project(resources, sandbox_url)
    await register_function(
        client, project, name="router", url=http_stub.url("/fn/route"), secret=SECRET
    )
    http_stub.on("/fn/route", signed(SECRET, answer))
    execution = await run_flow(client, resources, project, _decide_flow("router"))
    assert execution["status"] == "failed"
    assert execution["error"]["node_id"] == "route"
    assert sandbox.outbox == []


async def test_a_webhook_answer_the_database_cannot_store_ends_the_call(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    http_stub: HttpStub,
) -> None:
    """A NUL character in a webhook's answer must not make the call repeat forever."""
    http_stub.replies("/nul", (200, {"x": "a\u0000b"}))
    project = await create_project(resources, sandbox_url)
    definition = chain(
        node("start", "start"),
        node("call", "webhook", url=http_stub.url("/nul"), save_response_to="answer"),
        node("bye", "send_text", message="Bye"),
    )
    execution = await run_flow(client, resources, project, definition)
    assert len(http_stub.received("/nul")) == 1
    assert execution["status"] in ("ended", "failed")
