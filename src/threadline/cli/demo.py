"""``threadline demo``: a sample flow and a sample agent, end to end, against the built-in
sandbox and the local model server.

It starts a private server (API, worker and sandbox) on a free port with a throwaway
SQLite database, then drives it over real HTTP exactly as the README's walk-through
does, and prints the conversation the sandbox received, then a test chat with an agent.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path
from typing import Any

import httpx
import typer
import uvicorn

from threadline.config import Settings
from threadline.kit import migrate as migrations
from threadline.kit.resources import Resources
from threadline.projects import service as projects

PHONE = "+15551230001"

DEMO_FLOW: dict[str, Any] = {
    "name": "Demo: order status",
    "description": "Greets, asks for an order number, waits, answers.",
    "definition": {
        "nodes": [
            {"id": "start", "type": "flow-node", "data": {"node_type": "start", "config": {}}},
            {
                "id": "greet",
                "type": "flow-node",
                "data": {
                    "node_type": "send_text",
                    "config": {"message": "Hi {{vars.name}}! What is your order number?"},
                },
            },
            {
                "id": "ask",
                "type": "flow-node",
                "data": {
                    "node_type": "wait_for_response",
                    "config": {"timeout_seconds": 3600, "save_response_to": "order"},
                },
            },
            {
                "id": "reply",
                "type": "flow-node",
                "data": {
                    "node_type": "send_text",
                    "config": {"message": "Thanks! Order {{vars.order}} is on its way."},
                },
            },
        ],
        "edges": [
            {"source": "start", "target": "greet", "label": "next"},
            {"source": "greet", "target": "ask", "label": "next"},
            {"source": "ask", "target": "reply", "label": "next"},
        ],
    },
}


DEMO_AGENT: dict[str, Any] = {
    "name": "Demo: order helper",
    "system_prompt": "You help customers with their orders. Be brief.",
    "graph": {
        "nodes": [
            {"id": "__start__", "name": "__start__", "type": "DefaultNode"},
            {"id": "help", "name": "help", "type": "DefaultNode", "prompt": "Ask for the order."},
            {"id": "__end__", "name": "__end__", "type": "DefaultNode"},
        ],
        "edges": [{"from": "__start__", "to": "help"}, {"from": "help", "to": "__end__"}],
    },
}

#: What the user says to the agent, answered by the local model server (no provider needed).
AGENT_TURNS = ("hi", "Where is order A-1042?")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _project(settings: Settings) -> str:
    await migrations.upgrade_async(settings.resolved_database_url())
    resources = Resources.create(settings)
    try:
        async with resources.db.transaction() as session:
            created = await projects.create(session, resources.cipher, name="Demo")
    finally:
        await resources.close()
    return created.api_key


async def _wait_for(api: httpx.AsyncClient, path: str, status: str) -> dict[str, Any]:
    for _ in range(200):
        data: dict[str, Any] = (await api.get(path)).json()["data"]
        if data["status"] == status:
            return data
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{path} never reached {status}")


async def _outbox(base: str, count: int) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(200):
            sent: list[dict[str, Any]] = (await client.get("/sandbox/_sandbox/outbox")).json()[
                "data"
            ]
            if len(sent) >= count:
                return sent
            await asyncio.sleep(0.05)
    raise RuntimeError("the sandbox never received the replies")


async def _drive(base: str, api_key: str) -> None:
    headers = {"X-API-Key": api_key}
    async with httpx.AsyncClient(base_url=base + "/api/v1", headers=headers) as api:
        flow = (await api.post("/flows", json={"flow": DEMO_FLOW})).json()["data"]
        await api.post(
            f"/flows/{flow['id']}/triggers", json={"trigger": {"trigger_type": "api_call"}}
        )
        await api.patch(f"/flows/{flow['id']}", json={"flow": {"status": "active"}})
        await api.post(
            f"/flows/{flow['id']}/executions",
            json={"phone_number": PHONE, "variables": {"name": "Ada"}},
        )
        execution = (await api.get(f"/flows/{flow['id']}/executions")).json()["data"][0]
        path = f"/flow_executions/{execution['id']}"
        await _wait_for(api, path, "waiting")
        _show(await _outbox(base, 1), start=0)
        typer.echo("user  > A-1042")
        await api.post(f"{path}/resume", json={"input": "A-1042"})
        await _wait_for(api, path, "ended")
        _show(await _outbox(base, 2), start=1)
        await _chat_with_agent(api)


async def _chat_with_agent(api: httpx.AsyncClient) -> None:
    """A test chat with a sample agent, answered by the local model server."""
    agent = (await api.post("/agents", json={"agent": DEMO_AGENT})).json()["data"]
    body: dict[str, Any] = {}
    for text in AGENT_TURNS:
        typer.echo(f"user  > {text}")
        sent = await api.post(f"/agents/{agent['id']}/test_chats", json=body | {"message": text})
        chat = sent.json()["data"]
        body = {"agent_test_chat_id": chat["id"]}
        answered = await _wait_for(api, f"/test_chats/{chat['id']}", "completed")
        for message in answered["conversation"][len(chat["conversation"]) :]:
            typer.echo(f"agent > {message['content']}")


def _show(messages: list[dict[str, Any]], *, start: int) -> None:
    for message in messages[start:]:
        typer.echo(f"flow  > {message['payload']['text']['body']}")


async def _run(data_dir: Path) -> None:
    from threadline.app import create_app

    port = _free_port()
    settings = Settings(data_dir=data_dir, port=port, log_level="warning")
    api_key = await _project(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        await _drive(settings.base_url(), api_key)
    finally:
        server.should_exit = True
        await serving


def demo() -> None:
    """Run a sample flow and a sample agent end to end and print the conversations."""
    with tempfile.TemporaryDirectory(prefix="threadline-demo-") as tmp:
        asyncio.run(_run(Path(tmp)))
