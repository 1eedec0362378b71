"""``threadline agents chat`` and ``list`` against a live server and the local model."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
from typer.testing import CliRunner, Result

from agent_builders import LOCAL_MODEL, ask, create_agent, says, script, tell_and_end
from agent_graphs import edge, graph, handoff_node, node, simple_graph
from builders import TestProject, create_project
from llm_builders import LiveModelServer
from threadline.cli.main import app
from threadline.engine.agent.graph import END, START
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources

INTRO = "Chatting with the agent (a test chat: nothing is sent on WhatsApp). /quit ends."


@contextlib.asynccontextmanager
async def worker(resources: Resources) -> AsyncIterator[None]:
    """Run the jobs in the background while the command talks to the server."""

    jobs = Worker(resources)

    async def loop() -> None:
        while True:
            await jobs.run_until_idle()
            await asyncio.sleep(0.05)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_cli(
    live_url: str, project: TestProject, resources: Resources, args: list[str], stdin: str = ""
) -> Result:
    """``threadline <args>`` in a thread (the server answers on this loop), stdin piped."""
    full = [*args, "--url", live_url, "--api-key", project.api_key]
    async with worker(resources):
        return await asyncio.to_thread(CliRunner().invoke, app, full, input=stdin)


async def test_chat_prints_each_answer_until_the_agent_ends(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    live_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(
        LOCAL_MODEL, script(ask("Which order is it?"), tell_and_end("Order A-17 ships today."))
    )
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    done = await run_cli(
        live_url, project, resources, ["agents", "chat", agent["id"]], "hi\nA-17\n"
    )
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        INTRO,
        "you   > hi",
        "agent > Which order is it?",
        "you   > A-17",
        "agent > Order A-17 ships today.",
        "[ended] the agent ended the conversation.",
    ]
    received = await model_server.received()
    assert len(received) == 2


async def test_chat_continues_one_chat_and_quits_on_quit(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    live_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Name?"), ask("Date?"), ask("Never")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph())
    stdin = "hi\n\nAda\n/quit\nnot sent\n"
    done = await run_cli(live_url, project, resources, ["agents", "chat", agent["id"]], stdin)
    assert done.exit_code == 0, done.output
    assert [line for line in done.output.splitlines() if line.startswith("agent")] == [
        "agent > Name?",
        "agent > Date?",
    ]
    assert done.output.splitlines()[-1] == "you   > /quit"
    received = await model_server.received()
    assert len(received) == 2  # nothing was sent after /quit
    assert "Name?" in json.dumps(received[1]["body"])  # the second turn continued the chat


async def test_chat_shows_a_handoff_and_an_error(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    live_url: str,
    model_server: LiveModelServer,
) -> None:
    handoff = says(("MoveToNextNode", {"next_node": "human", "reason": "wants a person"}))
    await model_server.load_script(LOCAL_MODEL, script(handoff))
    project = await create_project(resources, sandbox_url)
    nodes = [node("greet", prompt="Greet"), handoff_node()]
    agent = await create_agent(
        client, project, graph(nodes, [edge(START, "greet"), edge("greet", END)])
    )
    args = ["agents", "chat", agent["id"]]
    done = await run_cli(live_url, project, resources, args, "a person please\n")
    assert done.exit_code == 0, done.output
    assert (
        done.output.splitlines()[-1] == "[handoff] the agent handed the conversation to a person."
    )

    missing = ["agents", "chat", "00000000-0000-0000-0000-000000000000"]
    refused = await run_cli(live_url, project, resources, missing, "hi\n")
    assert refused.exit_code == 1
    assert "error: Agent not found (404)" in refused.output


async def test_list_prints_the_projects_agents(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    mine = await create_agent(client, project, simple_graph(), name="Mine")
    await create_agent(client, other, simple_graph(), name="Theirs")
    done = await run_cli(live_url, project, resources, ["agents", "list"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [f"{mine['id']}  v{mine['agent_version']}  Mine"]
