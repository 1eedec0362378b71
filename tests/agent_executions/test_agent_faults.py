"""What an agent does when its model or its tools fail: each fault has one outcome
(a retry, an error fed back to the model, or a failed execution with the reason), never a
run stuck ``running`` and never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agent_builders import (
    LOCAL_MODEL,
    agent_events,
    agent_execution,
    ask,
    create_agent,
    says,
    script,
    start_agent,
)
from agent_graphs import edge, graph, simple_graph, subagent_node, webhook_tool
from builders import TestProject, create_project, run_jobs
from llm_builders import LiveModelServer
from threadline.engine.agent.graph import END, START
from threadline.kit.resources import Resources
from tool_receiver import Receiver, Reply, serve


async def _run(
    client: httpx.AsyncClient,
    resources: Resources,
    project: TestProject,
    agent: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    started = await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    execution = await agent_execution(client, project, agent["id"], started["id"])
    return execution, await agent_events(client, project, agent["id"], started["id"])


@pytest.mark.parametrize("fault", ["server_error", "overloaded", "rate_limited"])
async def test_a_failing_provider_is_retried_and_then_the_answer_is_used(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    fault: str,
) -> None:
    await model_server.inject(fault, times=4, retry_after=0)  # more than the SDK's own retries
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    execution, _ = await _run(client, resources, project, agent)
    assert execution["status"] == "paused", execution
    assert len(await model_server.received()) == 5


async def test_a_provider_that_keeps_failing_fails_the_execution_with_the_reason(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    await model_server.inject("server_error", times=100)
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    execution, events = await _run(client, resources, project, agent)
    assert execution["status"] == "failed", execution
    assert "model" in execution["error"]["message"]
    assert events[-1]["kind"] == "error"


async def test_a_model_that_refuses_the_request_fails_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    project = await create_project(resources, sandbox_url)
    registered = await client.post(
        "/api/v1/model_providers",
        headers=project.headers,
        json={"model_provider": {"name": "broken", "kind": "openai"}},
    )
    assert registered.status_code == 201, registered.text
    body = {"name": "gpt", "provider_id": registered.json()["data"]["id"], "model": "gpt-x"}
    model = await client.post(
        "/api/v1/project_models",
        headers=project.headers,
        json={"project_model": body | {"is_default": True}},
    )
    assert model.status_code == 201, model.text
    agent = await create_agent(client, project, simple_graph())
    execution, _ = await _run(client, resources, project, agent)
    assert execution["status"] == "failed", execution
    assert "no API key" in execution["error"]["message"]
    assert await model_server.received() == []


async def test_malformed_and_unknown_tool_calls_are_fed_back_and_the_model_recovers(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    await model_server.inject("malformed_tool_call", times=1)  # reshapes the first answer
    rocket = says(("launch_rocket", {}))
    await model_server.load_script(LOCAL_MODEL, script(rocket, rocket, ask("Which order?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    execution, events = await _run(client, resources, project, agent)
    assert execution["status"] == "paused", execution
    refused = [e["data"]["error"] for e in events if e["kind"] == "tool_refused"]
    assert refused[0].startswith("invalid arguments")
    assert refused[1].startswith("unknown tool 'launch_rocket'")


async def test_an_empty_answer_is_asked_again(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    await model_server.inject("empty", times=1)  # empties the first answer
    await model_server.load_script(LOCAL_MODEL, script(ask("Hm?"), ask("Which order?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    execution, events = await _run(client, resources, project, agent)
    assert execution["status"] == "paused", execution
    assert [e["kind"] for e in events].count("model_answered_empty") == 1
    assert execution["conversation"][-1] == {"role": "assistant", "content": "Which order?"}


@pytest.fixture
async def failing_api() -> AsyncIterator[Receiver]:
    """An order API that always answers 503."""
    app = Receiver()
    server, task, app.base_url = await serve(app)
    app.reply("/orders/A-1", *[Reply(503, {"error": "down"}) for _ in range(20)])
    yield app
    server.should_exit = True
    await task


async def test_a_failing_webhook_tool_is_retried_then_its_error_goes_to_the_model(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    failing_api: Receiver,
) -> None:
    tool = webhook_tool(
        "get_order", failing_api.base_url + "/orders/#{order_id}", http_method="GET"
    )
    helper = subagent_node("helper", webhooks=[tool])
    await model_server.load_script(
        LOCAL_MODEL,
        script(says(("get_order_request", {"order_id": "A-1"})), ask("Our order system is down.")),
    )
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(
        client, project, graph([helper], [edge(START, "helper"), edge("helper", END)])
    )
    execution, events = await _run(client, resources, project, agent)
    assert execution["status"] == "paused", execution
    assert len(failing_api.requests) == 3  # the first try and the job's two retries
    (finished,) = [e["data"] for e in events if e["kind"] == "tool_finished"]
    assert finished["ok"] is False and "503" in finished["error"]
    keys = {r.headers["idempotency-key"] for r in failing_api.requests}
    assert len(keys) == 1  # every try is the same call to the receiver
