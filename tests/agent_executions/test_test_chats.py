"""Agent test chats: the same runtime, its messages kept in the chat and none sent."""

from __future__ import annotations

import httpx

from agent_builders import (
    LOCAL_MODEL,
    ask,
    create_agent,
    get_test_chat,
    script,
    start_test_chat,
    tell_and_end,
)
from agent_graphs import simple_graph
from builders import create_project, run_jobs
from llm_builders import LiveModelServer
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState


async def test_a_test_chat_converses_without_sending_anything(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(
        LOCAL_MODEL, script(ask("Which order?"), tell_and_end("A-3 arrives tomorrow."))
    )
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    path = f"/api/v1/agents/{agent['id']}/test_chats"

    chat = await start_test_chat(client, project, path, "hi")
    assert (chat["status"], chat["agent_id"]) == ("processing", agent["id"])
    await run_jobs(resources)
    waiting = await get_test_chat(client, project, chat["id"])
    assert waiting["status"] == "completed"
    assert waiting["conversation"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Which order?"},
    ]

    again = await start_test_chat(client, project, path, "A-3", chat_id=chat["id"])
    assert again["id"] == chat["id"]
    await run_jobs(resources)
    done = await get_test_chat(client, project, chat["id"])
    assert done["status"] == "completed" and done["waiting_for"] is None
    assert [m["content"] for m in done["conversation"]][-2:] == ["A-3", "A-3 arrives tomorrow."]
    assert sandbox.outbox == []  # nothing went to WhatsApp
    listed = await client.get(f"/api/v1/agents/{agent['id']}/executions", headers=project.headers)
    assert listed.json()["data"] == []  # test chats are not the agent's executions


async def test_a_snapshots_test_chat_runs_that_snapshot_not_the_agent_as_edited(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Old greeting?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    snapshot = await client.post(
        f"/api/v1/agents/{agent['id']}/agent_snapshots", headers=project.headers, json={}
    )
    assert snapshot.status_code == 201, snapshot.text
    edited = await client.patch(
        f"/api/v1/agents/{agent['id']}",
        headers=project.headers,
        json={"agent": {"system_prompt": "A new prompt after the snapshot"}},
    )
    assert edited.status_code == 200, edited.text
    snapshot_id = snapshot.json()["data"]["id"]

    chat = await start_test_chat(
        client, project, f"/api/v1/agent_snapshots/{snapshot_id}/test_chats", "hi"
    )
    assert chat["agent_snapshot_id"] == snapshot_id
    await run_jobs(resources)
    [request] = await model_server.received()
    system = request["body"]["messages"][0]["content"]
    assert "Be nice" in system and "A new prompt" not in system


async def test_a_chat_still_processing_takes_no_message_and_says_why(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    path = f"/api/v1/agents/{agent['id']}/test_chats"
    chat = await start_test_chat(client, project, path, "hi")  # its model call not run yet
    response = await client.post(
        path, headers=project.headers, json={"message": "more", "agent_test_chat_id": chat["id"]}
    )
    assert response.status_code == 400, response.text
    assert "completed" in response.json()["message"]


async def test_another_projects_test_chat_is_not_found(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    agent = await create_agent(client, project, simple_graph())
    chat = await start_test_chat(client, project, f"/api/v1/agents/{agent['id']}/test_chats", "hi")
    response = await client.get(f"/api/v1/test_chats/{chat['id']}", headers=other.headers)
    assert response.status_code == 404, response.text
