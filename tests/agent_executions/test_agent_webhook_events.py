"""Agent events reach the user's systems through the event webhooks, signed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent_builders import LOCAL_MODEL, ask, create_agent, script, start_agent, tell_and_end
from agent_graphs import simple_graph
from builders import TestProject, create_project, default_config_id, run_jobs
from llm_builders import LiveModelServer
from threadline.kit.resources import Resources
from threadline.whatsapp_webhooks.signing import SIGNATURE_HEADER, sign
from tool_receiver import Receiver, serve

SECRET = "a-secret-of-the-user"
EVENTS = [
    "agent.execution.started",
    "agent.execution.ended",
    "agent.execution.failed",
    "agent.execution.handoff",
]


@pytest.fixture
async def hooks() -> AsyncIterator[Receiver]:
    """The user's system receiving the events."""
    app = Receiver()
    server, task, app.base_url = await serve(app)
    yield app
    server.should_exit = True
    await task


async def _subscribe(
    client: httpx.AsyncClient, resources: Resources, project: TestProject, url: str
) -> None:
    config = await default_config_id(resources, project)
    body = {"url": url, "secret_key": SECRET, "events": EVENTS}
    response = await client.post(
        f"/api/v1/whatsapp_configs/{config}/whatsapp_webhooks",
        headers=project.headers,
        json={"whatsapp_webhook": body},
    )
    assert response.status_code == 201, response.text


def _names(hooks: Receiver) -> list[str]:
    return [r.headers["x-webhook-event"] for r in hooks.requests]


async def test_started_and_ended_are_delivered_for_a_run(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    hooks: Receiver,
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(tell_and_end("Bye!")))
    project = await create_project(resources, sandbox_url)
    await _subscribe(client, resources, project, hooks.url("/events"))
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    assert _names(hooks) == ["agent.execution.started", "agent.execution.ended"]
    ended = hooks.requests[-1]
    assert ended.headers[SIGNATURE_HEADER.lower()] == sign(SECRET, ended.body)
    assert ended.json()["agent_execution"]["id"] == started["id"]
    assert ended.json()["agent_execution"]["status"] == "ended"


async def test_a_failed_run_is_delivered_as_failed(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    hooks: Receiver,
) -> None:
    await model_server.inject("server_error", times=100)
    project = await create_project(resources, sandbox_url)
    await _subscribe(client, resources, project, hooks.url("/events"))
    agent = await create_agent(client, project, simple_graph())
    await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    assert _names(hooks) == ["agent.execution.started", "agent.execution.failed"]
    assert hooks.requests[-1].json()["agent_execution"]["error"]["message"]


async def test_a_handoff_set_by_put_is_not_an_event_but_one_reached_by_the_agent_is(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
    hooks: Receiver,
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?")))
    project = await create_project(resources, sandbox_url)
    await _subscribe(client, resources, project, hooks.url("/events"))
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    path = f"/api/v1/agents/{agent['id']}/executions/{started['id']}"
    handed = await client.put(
        path, headers=project.headers, json={"agent_execution": {"status": "handoff"}}
    )
    assert (handed.status_code, handed.json()["data"]["status"]) == (200, "handoff")
    back = await client.put(
        path, headers=project.headers, json={"agent_execution": {"status": "paused"}}
    )
    assert back.json()["data"]["status"] == "paused"
    await run_jobs(resources)
    assert _names(hooks) == ["agent.execution.started"]
