"""An execution's life through the API: start, wait, resume, reply delivered, end."""

from __future__ import annotations

import httpx

from builders import (
    ask_and_reply,
    create_active_flow,
    create_project,
    get_execution,
    start_execution,
)
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState


async def test_start_wait_resume_reply(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution = await start_execution(client, project, flow_id, variables={"name": "Ada"})
    assert execution["status"] == "waiting"
    assert execution["current_step"]["step_type"] == "wait_for_response"

    await Worker(resources).run_until_idle()
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Question?"]

    resumed = await client.post(
        f"/api/v1/flow_executions/{execution['id']}/resume",
        headers=project.headers,
        json={"input": "blue"},
    )
    assert resumed.status_code == 200, resumed.text
    # The resume runs the flow on in its own transaction, as a start does: the answer
    # shows where it stopped (here, the end); only the reply's delivery is left to a job.
    assert resumed.json()["data"]["status"] == "ended"
    assert resumed.json()["data"]["variables"]["answer"] == "blue"

    await Worker(resources).run_until_idle()
    final = await get_execution(client, project, execution["id"])
    assert final["status"] == "ended"
    assert final["variables"]["answer"] == "blue"
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Question?", "You said blue"]
