"""A flow's ``agent`` node over real HTTP: the flow greets, its agent converses with the
sandbox user (a webhook tool to a local receiver, a knowledge base in the database)
across the user's replies, moves to the end, and the flow carries on from the node.

The model is the local model server, scripted; the user is the sandbox, whose webhooks
reach a live platform with a worker. Nothing is posted by hand but the user's messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agent_builders import says, script
from builders import (
    TestProject,
    add_inbound_trigger,
    create_project,
    edge,
    execution_events,
    node,
    run_flow,
)
from llm_builders import LiveModelServer, text_reply
from sandbox_user import outbound_texts, user_says
from support import eventually
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState
from tool_receiver import Receiver, Reply, serve

PHONE = "15550008888"
MODEL = "helper-model"
FAQ = "Returns are free within 30 days of delivery.\n\nWe ship to every EU country."


@pytest.fixture
async def orders() -> AsyncIterator[Receiver]:
    """The business's order API the agent's webhook tool calls."""
    app = Receiver()
    server, task, app.base_url = await serve(app)
    yield app
    server.should_exit = True
    await task


def _agent_node(orders_url: str, **config: Any) -> dict[str, Any]:
    webhook = {
        "name": "get_order",
        "description": "Look an order up by its id",
        "url": orders_url + "/orders/{{order_id}}",
        "http_method": "GET",
        "headers": '{"X-Phone": "{{system.phone_number}}"}',  # a JSON string, as the SDK sends
        "body": "{}",
        "body_schema": '{"type":"object","properties":{},"required":[]}',
        "jmespath_query": "status",
    }
    kb = {"name": "faq", "description": "Returns and shipping", "knowledge_base_text": FAQ}
    fields = {
        "system_prompt": "You help customers of Acme with their orders.",
        "provider_model_name": MODEL,
        "temperature": 0.2,
        "max_iterations": 10,
        "max_tokens": 500,
        "flow_agent_webhooks": [webhook],
        "flow_agent_knowledge_bases": [kb],
        **config,
    }
    return node("assistant", "agent", **fields)


def _flow(orders_url: str, *, error_edge: bool = False, **config: Any) -> dict[str, Any]:
    nodes = [
        node("start", "start"),
        node("hello", "send_text", message="Hello! Our assistant will help you."),
        _agent_node(orders_url, **config),
        node("back", "send_text", message="Back in the flow: {{system.last_agent.reason}}"),
    ]
    edges = [edge("start", "hello"), edge("hello", "assistant"), edge("assistant", "back")]
    if error_edge:
        nodes.append(node("sorry", "send_text", message="Sorry: {{system.last_error}}"))
        edges.append(edge("assistant", "sorry", "error"))
    return {"nodes": nodes, "edges": edges}


def _model_script() -> list[Any]:
    return [
        text_reply("Which order is it about?"),
        says(("get_order_request", {"order_id": "A-17"})),
        says(("kb_retrieval", {"queries": ["returns"]})),
        says(
            ("MoveToNextNode", {"next_node": "__end__", "reason": "order answered"}),
            text="Order A-17 has shipped. Returns are free within 30 days.",
        ),
    ]


async def _texts_reach(control: httpx.AsyncClient, count: int) -> list[str]:
    async def enough() -> list[str] | None:
        texts = await outbound_texts(control, PHONE)
        return texts if len(texts) >= count else None

    return await eventually(enough, timeout=20, what=f"{count} messages to the user")


async def _inbound_flow(
    client: httpx.AsyncClient, project: TestProject, definition: dict[str, Any]
) -> str:
    created = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "Support", "definition": definition}},
    )
    assert created.status_code == 201, created.text
    flow_id: str = created.json()["data"]["id"]
    await add_inbound_trigger(client, project, flow_id)
    activated = await client.patch(
        f"/api/v1/flows/{flow_id}", headers=project.headers, json={"flow": {"status": "active"}}
    )
    assert activated.status_code == 200, activated.text
    return flow_id


async def _only_execution(
    client: httpx.AsyncClient, project: TestProject, flow_id: str
) -> dict[str, Any]:
    listed = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=project.headers)
    [execution] = listed.json()["data"]
    found = await client.get(f"/api/v1/flow_executions/{execution['id']}", headers=project.headers)
    data: dict[str, Any] = found.json()["data"]
    return data


async def test_a_flow_hands_the_user_to_its_agent_and_carries_on_when_it_is_done(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
    model_server: LiveModelServer,
    orders: Receiver,
) -> None:
    orders.reply("/orders/A-17", Reply(200, {"status": "shipped", "id": "A-17"}))
    await model_server.load_script(MODEL, script(*_model_script()))
    project = await create_project(resources, sandbox_url)
    flow_id = await _inbound_flow(client, project, _flow(orders.base_url))

    await user_says(control, PHONE, "hi")
    assert await _texts_reach(control, 2) == [
        "Hello! Our assistant will help you.",
        "Which order is it about?",
    ]
    waiting = await _only_execution(client, project, flow_id)
    assert (waiting["status"], waiting["current_step"]["node_id"]) == ("waiting", "assistant")

    await user_says(control, PHONE, "A-17 please")
    texts = await _texts_reach(control, 4)
    assert texts[2:] == [
        "Order A-17 has shipped. Returns are free within 30 days.",
        "Back in the flow: order answered",
    ]
    ended = await eventually(
        lambda: _ended(client, project, flow_id), timeout=20, what="the flow to end"
    )
    (order_call,) = orders.requests
    assert order_call.path == "/orders/A-17" and order_call.headers["x-phone"] == "+" + PHONE
    assert order_call.headers["idempotency-key"].startswith(ended["id"] + ":")
    await _check_the_model_calls(model_server)
    await _check_the_log(client, project, ended["id"])


async def _ended(
    client: httpx.AsyncClient, project: TestProject, flow_id: str
) -> dict[str, Any] | None:
    execution = await _only_execution(client, project, flow_id)
    return execution if execution["status"] == "ended" else None


async def _check_the_model_calls(model_server: LiveModelServer) -> None:
    asked = await model_server.received()
    assert len(asked) == 4
    first = asked[0]["body"]
    assert first["model"] == MODEL and first["temperature"] == 0.2
    assert "You help customers of Acme" in first["messages"][0]["content"]
    assert first["messages"][-1] == {"role": "user", "content": "hi"}
    names = {tool["function"]["name"] for tool in first["tools"]}
    assert {"get_order_request", "kb_retrieval", "MoveToNextNode", "WaitForUser"} <= names
    [get_order] = [t for t in first["tools"] if t["function"]["name"] == "get_order_request"]
    assert list(get_order["function"]["parameters"]["properties"]) == ["order_id"]
    assert "Returns are free" in str(asked[3]["body"]["messages"])  # the KB's answer


async def _check_the_log(
    client: httpx.AsyncClient, project: TestProject, execution_id: str
) -> None:
    events = await execution_events(client, project, execution_id)
    kinds = [e["kind"] for e in events]
    assert kinds.count("model_called") == 4
    finished = [e["data"] for e in events if e["kind"] == "tool_finished"]
    assert [(f["tool"], f["ok"]) for f in finished] == [
        ("get_order_request", True),
        ("kb_retrieval", True),
    ]
    left = [
        i for i, e in enumerate(events) if e["kind"] == "step_left" and e["node_id"] == "assistant"
    ]
    assert kinds.index("agent_ended") < kinds.index("agent_finished") < left[-1]
    assert kinds.count("execution_ended") == 1  # the flow's, after the agent's own end
    usage = await client.get(
        "/api/v1/model_calls", headers=project.headers, params={"q[subject_id_eq]": execution_id}
    )
    assert usage.status_code == 200, usage.text
    rows = usage.json()["data"]
    assert len(rows) == 4 and {r["subject_kind"] for r in rows} == {"flow_execution"}


async def test_an_agent_that_fails_takes_the_error_edge_with_the_reason(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    orders: Receiver,
) -> None:
    # It never waits for the user: the third model call of the turn breaks its limit.
    looping = says(("get_execution_metadata", {}))
    await model_server.load_script(MODEL, script(looping, looping, looping, looping))
    project = await create_project(resources, sandbox_url)
    definition = _flow(orders.base_url, error_edge=True, max_iterations=2)
    execution = await run_flow(client, resources, project, definition)
    assert execution["status"] == "ended", execution
    texts = [m.payload["text"]["body"] for m in sandbox.outbox if m.type == "text"]
    assert texts[0] == "Hello! Our assistant will help you."
    assert texts[1].startswith("Sorry: the agent failed: the model was called 2 times")
    events = await execution_events(client, project, execution["id"])
    assert "agent_failed" in [e["kind"] for e in events]


async def test_without_an_error_edge_a_failing_agent_fails_the_flow(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    orders: Receiver,
) -> None:
    await model_server.inject("server_error", times=100)
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(client, resources, project, _flow(orders.base_url))
    assert execution["status"] == "failed", execution
    assert "the agent failed" in execution["error"]["message"]
    assert execution["error"]["node_id"] == "assistant"
