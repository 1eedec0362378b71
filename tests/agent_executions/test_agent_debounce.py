"""An agent's ``message_debounce_seconds``: a burst of messages is one turn."""

from __future__ import annotations

import time

import httpx

from agent_builders import LOCAL_MODEL, ask, create_agent, script
from agent_graphs import simple_graph
from builders import create_project, default_config_id
from llm_builders import LiveModelServer
from sandbox_user import user_says
from support import eventually
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources

PHONE = "15550006666"


async def _say(control: httpx.AsyncClient, text: str) -> None:
    await user_says(control, PHONE, text)


async def test_a_burst_within_the_window_reaches_the_model_as_one_message(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?")))
    project = await create_project(resources, sandbox_url)
    agent = await create_agent(client, project, simple_graph(), message_debounce_seconds=1)
    config = await default_config_id(resources, project)
    bound = await client.post(
        f"/api/v1/agents/{agent['id']}/agent_whatsapp_configs",
        headers=project.headers,
        json={"agent_whatsapp_config": {"whatsapp_config_id": config}},
    )
    assert bound.status_code == 201, bound.text

    began = time.monotonic()
    await _say(control, "hi")
    await _say(control, "my order is late")

    async def asked() -> list[dict[str, object]]:
        return await model_server.received()

    [request] = await eventually(asked, timeout=20, what="the model to be asked")
    assert time.monotonic() - began >= 0.9  # the window was waited out
    users = [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]
    assert users == ["hi\nmy order is late"]
