"""Agent executions over the API, against the local model server (real HTTP)."""

from __future__ import annotations

import httpx

from agent_builders import (
    LOCAL_MODEL,
    agent_events,
    agent_execution,
    ask,
    create_agent,
    get_test_chat,
    post_resume,
    says,
    script,
    start_agent,
    start_test_chat,
    tell_and_end,
)
from agent_graphs import simple_graph
from builders import create_project, run_jobs
from llm_builders import LiveModelServer
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

PHONE = "+15550003333"


def _texts(sandbox: SandboxState) -> list[str]:
    return [m.payload["text"]["body"] for m in sandbox.outbox if m.type == "text"]


async def test_an_agent_asks_pauses_and_a_resume_carries_it_to_the_end(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(
        LOCAL_MODEL, script(ask("Which order is it?"), tell_and_end("Order A-17 ships today."))
    )
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())

    started = await start_agent(client, project, agent["id"], phone=PHONE, message="hi")
    assert (started["status"], started["agent_id"]) == ("running", agent["id"])
    await run_jobs(resources)
    paused = await agent_execution(client, project, agent["id"], started["id"])
    assert paused["status"] == "paused", paused
    assert _texts(sandbox) == ["Which order is it?"]
    assert [e.wa_id for e in sandbox.outbox] == [PHONE.lstrip("+")]

    resumed = await client.post(
        f"/api/v1/agents/{agent['id']}/executions/{started['id']}/resume",
        headers=project.headers,
        json={"message": {"type": "user_input", "content": {"text": "A-17"}}},
    )
    assert resumed.status_code == 200, resumed.text
    await run_jobs(resources)
    ended = await agent_execution(client, project, agent["id"], started["id"])
    assert ended["status"] == "ended", ended
    assert ended["duration"] is not None and ended["ended_at"] is not None
    assert _texts(sandbox) == ["Which order is it?", "Order A-17 ships today."]
    assert ended["conversation"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Which order is it?"},
        {"role": "user", "content": "A-17"},
        {"role": "assistant", "content": "Order A-17 ships today."},
    ]

    received = await model_server.received()
    assert len(received) == 2
    events = await agent_events(client, project, agent["id"], started["id"])
    called = [e for e in events if e["kind"] == "model_called"]
    assert len(called) == 2 and all(e["data"]["input_tokens"] > 0 for e in called)
    assert all(e["duration_ms"] is not None for e in called)
    usage = await client.get(
        "/api/v1/model_usage",
        headers=project.headers,
        params={"q[subject_id_eq]": started["id"]},
    )
    assert usage.status_code == 200, usage.text
    assert usage.json()["data"]["calls"] == 2


async def test_a_second_resume_of_the_same_pause_is_refused(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?"), ask("And the date?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    path = f"/api/v1/agents/{agent['id']}/executions/{started['id']}/resume"
    body = {"message": {"type": "user_input", "content": {"text": "A-1"}}}
    first = await client.post(path, headers=project.headers, json=body)
    second = await client.post(path, headers=project.headers, json=body)
    assert first.status_code == 200, first.text
    assert second.status_code == 400, second.text
    assert second.json()["error"] == "Execution cannot be resumed"


async def test_a_start_without_a_phone_number_says_to_use_a_test_chat(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    response = await client.post(
        f"/api/v1/agents/{agent['id']}/executions", headers=project.headers, json={"message": "hi"}
    )
    assert response.status_code == 400, response.text
    assert "test_chats" in response.json()["message"]


async def test_a_plain_text_answer_of_the_model_reaches_the_phone(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    # The built-in answers of the local model are text without tool calls: sent as is.
    await model_server.load_script(LOCAL_MODEL, script(says(text="Hello! Which order?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"], phone=PHONE, message="hi")
    await run_jobs(resources)
    paused = await agent_execution(client, project, agent["id"], started["id"])
    assert paused["status"] == "paused", paused
    assert _texts(sandbox) == ["Hello! Which order?"]
    assert sandbox.outbox[0].payload["messaging_product"] == "whatsapp"


async def test_a_resume_through_another_resource_leaves_the_pause_alone(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    # The compare-and-set of a resume is scoped to what the path names: the flows API
    # does not resume an agent's execution, nor one agent's path another agent's run.
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?"), ask("And?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    other = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    as_flow = await client.post(
        f"/api/v1/flow_executions/{started['id']}/resume", headers=project.headers, json={}
    )
    as_other = await post_resume(client, project, other["id"], started["id"], "A-1")
    assert (as_flow.status_code, as_other.status_code) == (404, 404), (as_flow, as_other)
    still = await agent_execution(client, project, agent["id"], started["id"])
    assert still["status"] == "paused", still
    resumed = await post_resume(client, project, agent["id"], started["id"], "A-1")
    assert resumed.status_code == 200, resumed.text


async def test_a_test_chat_is_not_resumed_through_the_executions_api(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?"), ask("And?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    chat = await start_test_chat(client, project, f"/api/v1/agents/{agent['id']}/test_chats", "hi")
    await run_jobs(resources)
    before = await get_test_chat(client, project, chat["id"])
    response = await post_resume(client, project, agent["id"], chat["id"], "A-1")
    assert response.status_code == 404, response.text
    after = await get_test_chat(client, project, chat["id"])
    assert (after["status"], after["conversation"]) == (before["status"], before["conversation"])
