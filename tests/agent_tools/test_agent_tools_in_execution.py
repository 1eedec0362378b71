"""An agent execution's webhook tool, run by a job: the request made, its answer fed back."""

from __future__ import annotations

import httpx

from agent_builders import (
    LOCAL_MODEL,
    agent_execution,
    create_agent,
    says,
    start_agent,
    tell_and_end,
)
from agent_graphs import edge, graph, webhook_node
from builders import create_project, run_jobs
from llm_builders import LiveModelServer
from threadline.engine.agent.graph import END, START
from threadline.kit.resources import Resources
from threadline.model_server.scripts import Rule, Script
from threadline.sandbox.state import SandboxState
from tool_receiver import Receiver


async def test_a_webhook_tool_is_called_with_the_execution_key_and_its_answer_used(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    receiver: Receiver,
) -> None:
    look_up = says(("lookup_request", {"order": "A-17"}))
    await model_server.load_script(
        LOCAL_MODEL,
        Script(rules=[Rule(contains="hi", reply=look_up)], after_tool=tell_and_end("Shipped.")),
    )
    project = await create_project(resources, sandbox_url)
    lookup = webhook_node("lookup", receiver.url("/orders"), body={"order": "#{order}"})
    agent = await create_agent(
        client, project, graph([lookup], [edge(START, "lookup"), edge("lookup", END)])
    )
    started = await start_agent(client, project, agent["id"], message="hi")
    await run_jobs(resources)

    ended = await agent_execution(client, project, agent["id"], started["id"])
    assert ended["status"] == "ended", ended
    [request] = receiver.received("/orders")
    assert request.json() == {"order": "A-17"}
    assert request.headers["idempotency-key"].startswith(f"{started['id']}:")
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Shipped."]
