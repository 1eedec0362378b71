"""Typed builders for agent executions and test chats over the API (with the local model)."""

from __future__ import annotations

from typing import Any

import httpx

from agent_graphs import agent_body, push_agent
from builders import TestProject
from threadline.model_server.scripts import Script, ScriptedReply, ScriptedToolCall

#: The model an agent of a project without providers talks to (the local model server).
LOCAL_MODEL = "default"


def says(*calls: tuple[str, dict[str, Any]], text: str = "") -> ScriptedReply:
    """A model answer calling ``calls`` in order (``("AskUserForInput", {...})``)."""
    return ScriptedReply(
        text=text, tool_calls=[ScriptedToolCall(name=n, arguments=a) for n, a in calls]
    )


def ask(question: str) -> ScriptedReply:
    """The model asks the user ``question`` and waits."""
    return says(("AskUserForInput", {"message": question}))


def tell_and_end(message: str) -> ScriptedReply:
    """The model tells the user ``message`` and moves to the end."""
    return says(
        ("send_notification_to_user", {"message": message}),
        ("MoveToNextNode", {"next_node": "__end__", "reason": "done"}),
    )


def script(*replies: ScriptedReply) -> Script:
    """The model's answers, in order."""
    return Script(replies=list(replies))


async def create_agent(
    client: httpx.AsyncClient, project: TestProject, graph: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """An agent pushed as the CLI does; the created agent."""
    created, patched = await push_agent(client, project, agent_body(graph_json=graph, **fields))
    assert patched.status_code == 200, patched.text
    data: dict[str, Any] = created.json()["data"]
    return data


async def start_agent(
    client: httpx.AsyncClient,
    project: TestProject,
    agent_id: str,
    *,
    phone: str = "+15550003333",
    message: str | dict[str, Any] | None = "hi",
) -> dict[str, Any]:
    """``POST /agents/{id}/executions``; the execution it answers."""
    body: dict[str, Any] = {"phone_number": phone}
    if message is not None:
        body["message"] = message
    response = await client.post(
        f"/api/v1/agents/{agent_id}/executions", headers=project.headers, json=body
    )
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def post_resume(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, execution_id: str, text: str
) -> httpx.Response:
    """``POST /agents/{id}/executions/{execution_id}/resume`` with the user's text, as sent."""
    return await client.post(
        f"/api/v1/agents/{agent_id}/executions/{execution_id}/resume",
        headers=project.headers,
        json={"message": {"type": "user_input", "content": {"text": text}}},
    )


async def agent_execution(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, execution_id: str
) -> dict[str, Any]:
    """``GET /agents/{id}/executions/{execution_id}``."""
    response = await client.get(
        f"/api/v1/agents/{agent_id}/executions/{execution_id}", headers=project.headers
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def agent_events(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, execution_id: str
) -> list[dict[str, Any]]:
    """The execution's event log."""
    response = await client.get(
        f"/api/v1/agents/{agent_id}/executions/{execution_id}/events",
        headers=project.headers,
        params={"per_page": 500},
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def start_test_chat(
    client: httpx.AsyncClient,
    project: TestProject,
    path: str,
    message: str,
    chat_id: str | None = None,
) -> dict[str, Any]:
    """``POST {path}`` (an agent's or a snapshot's ``/test_chats``); the chat it answers."""
    body: dict[str, Any] = {"message": message}
    if chat_id is not None:
        body["agent_test_chat_id"] = chat_id
    response = await client.post(path, headers=project.headers, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def get_test_chat(
    client: httpx.AsyncClient, project: TestProject, chat_id: str
) -> dict[str, Any]:
    """``GET /test_chats/{id}``."""
    response = await client.get(f"/api/v1/test_chats/{chat_id}", headers=project.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
