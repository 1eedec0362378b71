"""An agent on a WhatsApp number, over real HTTP end to end.

The sandbox plays the user and Meta's webhooks; the platform (a live server and a
worker) runs the agent against the local model server; the agent's webhook tool calls a
local HTTP receiver, its MCP tool a local MCP server made with the official SDK, and its
knowledge base is searched in the database. The user says hi, is asked a question, and
answers; the agent looks the order up, reads its knowledge base and the docs, answers
and asks again; the user asks for a person, the global handoff node takes over, a person
is assigned, and releasing the assignment ends the run. Nothing is posted by hand but
the person's assignment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from agent_builders import LOCAL_MODEL, agent_events, ask, create_agent, says, script
from agent_graphs import (
    edge,
    graph,
    handoff_node,
    knowledge_base_tool,
    mcp_tool,
    subagent_node,
    webhook_tool,
)
from builders import TestProject, create_project, create_user, default_config_id
from llm_builders import LiveModelServer
from sandbox_user import outbound_texts, user_says
from support import eventually
from threadline.engine.agent.graph import END, START
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from tool_receiver import Receiver, Reply, serve

PHONE = "15550007777"
FAQ = "Returns are free within 30 days of delivery.\n\nWe ship to every EU country."


def _docs_server() -> MCPServer:
    server = MCPServer("docs", log_level="WARNING")

    @server.tool()
    def search(query: str) -> dict[str, Any]:
        """Search the shipping docs."""
        return {"results": [f"{query}: two working days"], "total": 1}

    return server


@pytest.fixture
async def docs_url() -> AsyncIterator[str]:
    """A local MCP server (streamable HTTP) with one ``search`` tool."""
    server, task, base = await serve(_docs_server().streamable_http_app())
    yield f"{base}/mcp"
    server.should_exit = True
    await task


@pytest.fixture
async def orders() -> AsyncIterator[Receiver]:
    """The business's order API the agent's webhook tool calls."""
    app = Receiver()
    server, task, app.base_url = await serve(app)
    yield app
    server.should_exit = True
    await task


def _support_graph(orders_url: str, docs_url: str) -> dict[str, Any]:
    helper = subagent_node(
        "helper",
        prompt="Help with orders: look them up, answer from the FAQ and the docs.",
        webhooks=[
            webhook_tool(
                "get_order",
                orders_url + "/orders/#{order_id}",
                http_method="GET",
                jmespath_query="status",
                description="Look an order up by its id",
            )
        ],
        knowledge_bases=[knowledge_base_tool("faq", FAQ, description="Returns and shipping")],
        mcp_servers=[mcp_tool("docs", docs_url)],
    )
    return graph([helper, handoff_node("human")], [edge(START, "helper"), edge("helper", END)])


def _model_script() -> list[Any]:
    return [
        ask("Hi! Which order is it about?"),
        says(("get_order_request", {"order_id": "A-17"})),
        says(("kb_retrieval", {"queries": ["returns"], "knowledge_base_key": "faq"})),
        says(("docs__search", {"query": "shipping"})),
        ask("Order A-17 has shipped. Returns are free for 30 days. Anything else?"),
        says(("MoveToNextNode", {"next_node": "human", "reason": "asked for a person"})),
    ]


async def _outbound_texts(control: httpx.AsyncClient) -> list[str]:
    return await outbound_texts(control, PHONE)


async def _say(control: httpx.AsyncClient, text: str) -> None:
    await user_says(control, PHONE, text, name="Grace")


async def _status(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, wanted: str
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        answer = await client.get(f"/api/v1/agents/{agent_id}/executions", headers=project.headers)
        found = answer.json()["data"]
        return found[0] if found and found[0]["status"] == wanted else None

    return await eventually(reached, timeout=20, what=f"the agent execution to be {wanted}")


async def _bind(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, config: str
) -> None:
    body = {"agent_whatsapp_config": {"whatsapp_config_id": config}}
    answer = await client.post(
        f"/api/v1/agents/{agent_id}/agent_whatsapp_configs", headers=project.headers, json=body
    )
    assert answer.status_code == 201, answer.text


async def test_a_sandbox_user_talks_to_an_agent_until_a_person_takes_over(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
    model_server: LiveModelServer,
    orders: Receiver,
    docs_url: str,
) -> None:
    orders.reply("/orders/A-17", Reply(200, {"status": "shipped", "id": "A-17"}))
    await model_server.load_script(LOCAL_MODEL, script(*_model_script()))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(
        client, project, _support_graph(orders.base_url, docs_url), message_debounce_seconds=0
    )
    await _bind(client, project, agent["id"], await default_config_id(resources, project))

    await _say(control, "hi")
    paused = await _status(client, project, agent["id"], "paused")
    await eventually(lambda: _has_texts(control, 1), timeout=20, what="the agent's question")
    assert await _outbound_texts(control) == ["Hi! Which order is it about?"]

    await _say(control, "A-17 please")
    await eventually(
        lambda: _has_texts(control, 2), timeout=20, what="the agent's answer after its tools"
    )
    assert (await _outbound_texts(control))[1].startswith("Order A-17 has shipped.")
    assert (await _status(client, project, agent["id"], "paused"))["id"] == paused["id"]
    (order_call,) = orders.requests
    assert order_call.path == "/orders/A-17"
    assert order_call.headers["idempotency-key"].startswith(paused["id"] + ":")

    await _say(control, "I want to talk to a person")
    handed = await _status(client, project, agent["id"], "handoff")
    conversation_id = handed["whatsapp_conversation_id"]
    user_id = await create_user(resources, project)
    assigned = await client.post(
        f"/api/v1/whatsapp_conversations/{conversation_id}/conversation_assignments",
        headers=project.headers,
        json={"conversation_assignment": {"user_id": user_id}},
    )
    assert assigned.status_code == 201, assigned.text
    await _say(control, "hello? anyone?")  # for the person now: the agent stays parked
    await eventually(lambda: _processed_as(resources, "handoff"), timeout=20, what="a handoff mark")
    assert (await _status(client, project, agent["id"], "handoff"))["id"] == paused["id"]

    released = await client.patch(
        f"/api/v1/whatsapp_conversations/{conversation_id}/conversation_assignments/"
        f"{assigned.json()['data']['id']}",
        headers=project.headers,
        json={"conversation_assignment": {"active": False}},
    )
    assert released.status_code == 200, released.text
    ended = await _status(client, project, agent["id"], "ended")
    assert ended["id"] == paused["id"]

    await _check_the_log(client, project, agent["id"], ended["id"], model_server)
    listed = await client.get(
        f"/api/v1/whatsapp_conversations/{conversation_id}/agent_executions",
        headers=project.headers,
    )
    [link] = listed.json()["data"]
    assert (link["agent_execution"]["id"], link["active"]) == (ended["id"], False)


async def _has_texts(control: httpx.AsyncClient, count: int) -> bool:
    return len(await _outbound_texts(control)) >= count


async def _processed_as(resources: Resources, status: str) -> bool:
    from sqlalchemy import select

    from threadline.models import WhatsappMessage

    async with resources.db.session() as session:
        rows = await session.execute(
            select(WhatsappMessage.processing_status).where(WhatsappMessage.direction == "inbound")
        )
        return status in set(rows.scalars())


async def _check_the_log(
    client: httpx.AsyncClient,
    project: TestProject,
    agent_id: str,
    execution_id: str,
    model_server: LiveModelServer,
) -> None:
    events = await agent_events(client, project, agent_id, execution_id)
    kinds = [e["kind"] for e in events]
    assert kinds.count("model_called") == 6
    finished = [e["data"] for e in events if e["kind"] == "tool_finished"]
    assert [(f["tool"], f["ok"]) for f in finished] == [
        ("get_order_request", True),
        ("kb_retrieval", True),
        ("docs__search", True),
    ]
    assert all(e["duration_ms"] is not None for e in events if e["kind"] == "tool_finished")
    assert "handoff" in kinds and kinds[-1] == "execution_ended"
    last = (await model_server.received())[-1]["body"]["messages"]
    answers = [m["content"] for m in last if m.get("role") == "tool"]
    # Each question's answer is its tool's result; the tools' results follow their calls.
    assert answers[0] == "A-17 please" and answers[1] == "shipped"
    assert "Returns are free" in answers[2]
    assert "shipping: two working days" in answers[3]
    assert answers[4] == "I want to talk to a person"
