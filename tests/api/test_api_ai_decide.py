"""A flow's AI decide: the model picks one of the labelled edges (real HTTP to the local
model server), with the error edge when it names none or cannot be asked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agent_builders import script as replies
from builders import create_project, edge, execution_events, node, run_flow
from llm_builders import LiveModelServer, tool_reply
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

MODEL = "router"


def _routing_flow(*, error_edge: bool = True) -> dict[str, Any]:
    route = node(
        "route",
        "decide",
        provider_model_name=MODEL,
        llm_temperature=0.0,
        llm_max_tokens=50,
        conditions=[
            {"label": "billing", "description": "questions about invoices or payments"},
            {"label": "shipping", "description": "questions about deliveries"},
        ],
    )
    nodes = [
        node("start", "start"),
        route,
        node("billing", "send_text", message="Billing will help you"),
        node("shipping", "send_text", message="Shipping will help you"),
    ]
    edges = [
        edge("start", "route"),
        edge("route", "billing", "billing"),
        edge("route", "shipping", "shipping"),
    ]
    if error_edge:
        nodes.append(node("human", "send_text", message="A person will help you"))
        edges.append(edge("route", "human", "error"))
    return {"nodes": nodes, "edges": edges}


def _texts(sandbox: SandboxState) -> list[str]:
    return [m.payload["text"]["body"] for m in sandbox.outbox if m.type == "text"]


@pytest.mark.parametrize(("label", "text"), [("billing", "Billing"), ("shipping", "Shipping")])
async def test_the_model_picks_the_branch(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    label: str,
    text: str,
) -> None:
    await model_server.load_script(MODEL, replies(tool_reply("choose_condition", {"label": label})))
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(
        client, resources, project, _routing_flow(), variables={"topic": "my parcel"}
    )
    assert execution["status"] == "ended", execution
    assert _texts(sandbox) == [f"{text} will help you"]

    [asked] = await model_server.received()
    body = asked["body"]
    assert body["model"] == MODEL and body["temperature"] == 0.0
    [tool] = body["tools"]
    assert tool["function"]["parameters"]["properties"]["label"]["enum"] == ["billing", "shipping"]
    assert "questions about deliveries" in body["messages"][0]["content"]
    assert "my parcel" in body["messages"][-1]["content"]
    events = await execution_events(client, project, execution["id"])
    assert {"edge": label, "by": "ai"} in [e["data"] for e in events if e["kind"] == "decided"]


async def test_a_model_naming_no_condition_takes_the_error_edge(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(
        MODEL, replies(tool_reply("choose_condition", {"label": "refunds"}))
    )
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(client, resources, project, _routing_flow())
    assert execution["status"] == "ended", execution
    assert _texts(sandbox) == ["A person will help you"]
    events = await execution_events(client, project, execution["id"])
    left = [
        e["data"]["edge"] for e in events if e["kind"] == "step_left" and e["node_id"] == "route"
    ]
    assert left == ["error"]


async def test_without_an_error_edge_an_unanswerable_decision_fails_with_the_reason(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.inject("server_error", times=100)
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(client, resources, project, _routing_flow(error_edge=False))
    assert execution["status"] == "failed", execution
    assert f"model {MODEL}" in execution["error"]["message"]
    assert _texts(sandbox) == []


async def test_the_decision_is_recorded_in_the_projects_model_usage(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(
        MODEL, replies(tool_reply("choose_condition", {"label": "billing"}))
    )
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(client, resources, project, _routing_flow())
    usage = await client.get(
        "/api/v1/model_usage",
        headers=project.headers,
        params={"q[subject_kind_eq]": "flow_execution", "q[subject_id_eq]": execution["id"]},
    )
    assert usage.status_code == 200, usage.text
    assert usage.json()["data"]["calls"] == 1
