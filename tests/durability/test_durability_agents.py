"""SIGKILL a real worker process in the middle of an agent's step, then recover with a fresh one.

Three places an agent's worker can die:

1. during a model call (the local model answers after a few seconds, so the call is in
   flight): the job's lease runs out, a fresh worker calls the model again (a model call
   has no side effects) and the execution carries on as if nothing happened;
2. during a webhook or an MCP tool call (the receiver, or the MCP server's tool, holds
   the first call open): the retry carries the same ``Idempotency-Key:
   <execution>:<step>``, so the server can tell it is the same call;
3. after the model answered and before its answer was committed (the crash point
   ``agent.model_answered``): the answer is lost with the process, the model is asked again.

Every time, no WhatsApp message is sent twice (the sandbox's outbox, counted per text) and
the execution pauses and ends exactly as without the kill. The doomed workers run with a
2 s job lease, so their jobs are taken over about 2 s after the kill.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from durability_support import Processes, eventually, execution_row, jobs, sandbox_bodies
from mcp.server.mcpserver import MCPServer
from starlette.types import Receive, Scope, Send

from agent_builders import (
    LOCAL_MODEL,
    agent_events,
    agent_execution,
    ask,
    create_agent,
    says,
    start_agent,
    tell_and_end,
)
from agent_graphs import edge, graph, mcp_tool, simple_graph, subagent_node, webhook_node
from builders import TestProject, create_project
from llm_builders import LiveModelServer
from support import free_port
from threadline.config import Settings
from threadline.engine.agent.graph import END, START
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.model_server.scripts import Rule, Script
from threadline.sandbox.state import SandboxState
from tool_receiver import serve

LEASE = "2"
QUESTION, ANSWER = "Which order is it?", "Order A-17 ships today."
CHECKING = "Let me check."


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    """What an agent's worker needs beyond the defaults: the model server, local egress."""
    return {
        "THREADLINE_MODEL_SERVER_URL": settings.model_server_url,
        "THREADLINE_EGRESS_ALLOW": "127.0.0.0/8",
        **extra,
    }


def _ask_then_end(latency: float = 0.0) -> Script:
    """Asks on "hi"; once the user answered (a tool result), says the answer and ends."""
    return Script(
        rules=[Rule(contains="hi", reply=ask(QUESTION))],
        after_tool=tell_and_end(ANSWER),
        latency_seconds=latency,
    )


async def _resume(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, execution_id: str
) -> None:
    response = await client.post(
        f"/api/v1/agents/{agent_id}/executions/{execution_id}/resume",
        headers=project.headers,
        json={"message": {"type": "user_input", "content": {"text": "A-17"}}},
    )
    assert response.status_code == 200, response.text


async def _status_becomes(
    client: httpx.AsyncClient, project: TestProject, agent_id: str, execution_id: str, status: str
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        data = await agent_execution(client, project, agent_id, execution_id)
        return data if data["status"] == status else None

    found: dict[str, Any] = await eventually(reached, timeout=60, what=f"status {status}")
    return found


async def _sent(sandbox: SandboxState, *texts: str) -> None:
    async def all_there() -> bool:
        bodies = sandbox_bodies(sandbox)
        return all(bodies[text] >= 1 for text in texts)

    await eventually(all_there, timeout=30, what=f"the sandbox to accept {texts}")


async def _requests_reach(server: LiveModelServer, count: int) -> None:
    async def reached() -> bool:
        return len(await server.received()) >= count

    await eventually(reached, timeout=30, what=f"{count} model requests")


async def _kill(doomed: Any) -> None:
    doomed.kill()
    assert await doomed.wait(timeout=20) == -signal.SIGKILL, doomed.output()


def _conversation() -> list[dict[str, str]]:
    return [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": QUESTION},
        {"role": "user", "content": "A-17"},
        {"role": "assistant", "content": ANSWER},
    ]


@pytest.mark.slow
async def test_a_worker_killed_during_a_model_call_is_taken_over_and_the_call_repeated(
    client: httpx.AsyncClient,
    settings: Settings,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    processes: Processes,
) -> None:
    await model_server.load_script(LOCAL_MODEL, _ask_then_end())
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"], message="hi")
    await Worker(resources).run_until_idle()
    await _status_becomes(client, project, agent["id"], started["id"], "paused")
    assert sandbox_bodies(sandbox) == {QUESTION: 1}

    await model_server.load_script(LOCAL_MODEL, _ask_then_end(latency=4.0))
    await _resume(client, project, agent["id"], started["id"])
    doomed = await processes.worker(
        settings, name="doomed", **_env(settings, THREADLINE_JOB_LEASE_SECONDS=LEASE)
    )
    await _requests_reach(model_server, 2)  # the second model call is in flight
    await _kill(doomed)
    row = await execution_row(resources, started["id"])
    assert (row.status, row.wait_reason) == ("running", "call"), "killed before the answer"

    await model_server.load_script(LOCAL_MODEL, _ask_then_end(latency=0.5))
    await processes.worker(settings, name="fresh", **_env(settings))
    ended = await _status_becomes(client, project, agent["id"], started["id"], "ended")
    await _sent(sandbox, ANSWER)
    assert len(await model_server.received()) == 3  # the killed call was made again
    assert ended["conversation"] == _conversation()
    assert sandbox_bodies(sandbox) == {QUESTION: 1, ANSWER: 1}
    events = await agent_events(client, project, agent["id"], started["id"])
    assert [e["kind"] for e in events].count("model_called") == 2  # the killed one left none


# -- a webhook tool whose first request is held open --------------------------------------


@dataclass
class HoldingReceiver:
    """An ASGI app recording every request; it holds the first one open until released."""

    base_url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.seen.append({"path": scope["path"], "headers": headers, "body": json.loads(body)})
        if len(self.seen) == 1:
            await self.release.wait()
        content = json.dumps({"status": "shipped"}).encode()
        head = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        await send({"type": "http.response.body", "body": content})


async def _look_up_with(model_server: LiveModelServer, tool: str) -> None:
    """The model: on "hi" it says it checks and calls ``tool`` for order A-17; once the
    tool answered, it tells the answer and ends."""
    look_up = says(
        ("send_notification_to_user", {"message": CHECKING}),
        (tool, {"order": "A-17"}),
    )
    await model_server.load_script(
        LOCAL_MODEL,
        Script(rules=[Rule(contains="hi", reply=look_up)], after_tool=tell_and_end(ANSWER)),
    )


@pytest.fixture
async def receiver() -> AsyncIterator[HoldingReceiver]:
    """The holding receiver, served on a free local port."""
    app = HoldingReceiver()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    app.base_url = f"http://127.0.0.1:{port}"
    try:
        yield app
    finally:
        app.release.set()
        server.should_exit = True
        await task


def _lookup_graph(url: str) -> dict[str, Any]:
    """start → lookup (a POST webhook whose body is the model's ``order``) → end."""
    lookup = webhook_node("lookup", url, body={"order": "#{order}"})
    return graph([lookup], [edge(START, "lookup"), edge("lookup", END)])


@pytest.mark.slow
async def test_a_worker_killed_during_a_webhook_call_retries_it_with_the_same_key(
    client: httpx.AsyncClient,
    settings: Settings,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    processes: Processes,
    receiver: HoldingReceiver,
) -> None:
    await _look_up_with(model_server, "lookup_request")
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, _lookup_graph(receiver.base_url + "/orders"))
    doomed = await processes.worker(
        settings, name="doomed", **_env(settings, THREADLINE_JOB_LEASE_SECONDS=LEASE)
    )
    started = await start_agent(client, project, agent["id"], message="hi")

    async def held() -> bool:
        return len(receiver.seen) == 1

    try:
        await eventually(held, timeout=30, what="the webhook request to arrive")
    except AssertionError:
        events = await agent_events(client, project, agent["id"], started["id"])
        rows = [(j.task, j.status, j.attempts, j.last_error) for j in await jobs(resources)]
        raise AssertionError([events, rows, doomed.output()]) from None
    await _sent(sandbox, CHECKING)
    await _kill(doomed)
    row = await execution_row(resources, started["id"])
    assert (row.status, row.wait_reason) == ("running", "call"), "killed mid tool call"

    await processes.worker(settings, name="fresh", **_env(settings))
    ended = await _status_becomes(client, project, agent["id"], started["id"], "ended")
    await _sent(sandbox, ANSWER)
    print("the receiver saw:", json.dumps(receiver.seen, indent=1))
    assert len(receiver.seen) == 2, receiver.seen
    keys = [request["headers"].get("idempotency-key") for request in receiver.seen]
    assert keys[0] == keys[1] and keys[0].startswith(f"{started['id']}:"), keys
    assert [r["body"] for r in receiver.seen] == [{"order": "A-17"}] * 2
    assert sandbox_bodies(sandbox) == {CHECKING: 1, ANSWER: 1}
    assert [m["content"] for m in ended["conversation"]] == ["hi", CHECKING, ANSWER]
    events = await agent_events(client, project, agent["id"], started["id"])
    finished = [e for e in events if e["kind"] == "tool_finished"]
    assert len(finished) == 1 and finished[0]["data"]["ok"] is True, finished


# -- an MCP tool whose first call is held open --------------------------------------------


@dataclass
class HoldingMcp:
    """An MCP server (the official SDK's) whose ``lookup`` tool holds its first call open;
    the headers of every HTTP request it gets are recorded."""

    base_url: str = ""
    calls: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Any:
        server = MCPServer("orders", log_level="WARNING")

        @server.tool()
        async def lookup(order: str) -> str:
            """Look an order up."""
            self.calls.append(order)
            if len(self.calls) == 1:
                await self.release.wait()
            return "shipped"

        inner = server.streamable_http_app()

        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
            await inner(scope, receive, send)

        return recording


@pytest.fixture
async def holding_mcp() -> AsyncIterator[HoldingMcp]:
    """The holding MCP server, served on a free local port."""
    mcp = HoldingMcp()
    server, task, mcp.base_url = await serve(mcp.app())
    try:
        yield mcp
    finally:
        mcp.release.set()
        server.should_exit = True
        await task


@pytest.mark.slow
async def test_a_worker_killed_during_an_mcp_call_repeats_it_with_the_same_key(
    client: httpx.AsyncClient,
    settings: Settings,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    processes: Processes,
    holding_mcp: HoldingMcp,
) -> None:
    await _look_up_with(model_server, "orders__lookup")
    project = await create_project(resources, sandbox_url)
    helper = subagent_node(
        "helper", mcp_servers=[mcp_tool("orders", holding_mcp.base_url + "/mcp")]
    )
    agent = await create_agent(
        client, project, graph([helper], [edge(START, "helper"), edge("helper", END)])
    )
    doomed = await processes.worker(
        settings, name="doomed", **_env(settings, THREADLINE_JOB_LEASE_SECONDS=LEASE)
    )
    started = await start_agent(client, project, agent["id"], message="hi")

    async def held() -> bool:
        return len(holding_mcp.calls) == 1

    await eventually(held, timeout=30, what="the MCP tool call to arrive")
    await _sent(sandbox, CHECKING)
    await _kill(doomed)
    row = await execution_row(resources, started["id"])
    assert (row.status, row.wait_reason) == ("running", "call"), "killed mid tool call"

    await processes.worker(settings, name="fresh", **_env(settings))
    ended = await _status_becomes(client, project, agent["id"], started["id"], "ended")
    await _sent(sandbox, ANSWER)
    assert holding_mcp.calls == ["A-17", "A-17"]
    keys = {h.get("idempotency-key") for h in holding_mcp.headers if h.get("idempotency-key")}
    assert len(keys) == 1 and keys.pop().startswith(f"{started['id']}:"), holding_mcp.headers
    assert sandbox_bodies(sandbox) == {CHECKING: 1, ANSWER: 1}
    assert [m["content"] for m in ended["conversation"]] == ["hi", CHECKING, ANSWER]


# -- the model answered, the answer was never committed -----------------------------------


@pytest.mark.slow
async def test_a_worker_killed_after_the_model_answered_asks_the_model_again(
    client: httpx.AsyncClient,
    settings: Settings,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
    processes: Processes,
) -> None:
    await model_server.load_script(LOCAL_MODEL, _ask_then_end())
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"], message="hi")
    doomed = await processes.worker(
        settings,
        name="doomed",
        **_env(
            settings, THREADLINE_CRASH_AT="agent.model_answered", THREADLINE_JOB_LEASE_SECONDS=LEASE
        ),
    )
    assert await doomed.wait(timeout=30) == -signal.SIGKILL, doomed.output()
    row = await execution_row(resources, started["id"])
    assert (row.status, row.wait_reason) == ("running", "call"), "the answer was not applied"
    assert len(await model_server.received()) == 1
    assert sandbox_bodies(sandbox) == {}

    await processes.worker(settings, name="fresh", **_env(settings))
    await _status_becomes(client, project, agent["id"], started["id"], "paused")
    await _sent(sandbox, QUESTION)
    assert len(await model_server.received()) == 2
    await _resume(client, project, agent["id"], started["id"])
    ended = await _status_becomes(client, project, agent["id"], started["id"], "ended")
    await _sent(sandbox, ANSWER)
    assert len(await model_server.received()) == 3
    assert ended["conversation"] == _conversation()
    assert sandbox_bodies(sandbox) == {QUESTION: 1, ANSWER: 1}
