"""Editing a flow while executions wait leaves them on the version they started on."""

from __future__ import annotations

import httpx
from durability_support import execution_row, sandbox_bodies

from builders import (
    chain,
    create_active_flow,
    create_project,
    get_execution,
    node,
    start_execution,
)
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

OLD = chain(
    node("start", "start"),
    node("ask", "send_text", message="Old question?"),
    node("wait", "wait_for_response", save_response_to="answer", timeout_seconds=3600),
    node("extra", "send_text", message="Old extra for {{vars.answer}}"),
    node("reply", "send_text", message="Old reply: {{vars.answer}}"),
)
# The waiting node is renamed, "extra" is gone, every text differs.
NEW = chain(
    node("start", "start"),
    node("ask", "send_text", message="New question?"),
    node("listen", "wait_for_response", save_response_to="answer", timeout_seconds=3600),
    node("reply", "send_text", message="New reply: {{vars.answer}}"),
)


async def test_waiting_executions_finish_on_their_old_definition(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, OLD)
    old = [
        str((await start_execution(client, project, flow_id, phone=f"+1555000100{i}"))["id"])
        for i in range(3)
    ]
    await Worker(resources).run_until_idle()
    old_version = (await execution_row(resources, old[0])).flow_version_id

    edited = await client.patch(
        f"/api/v1/flows/{flow_id}", headers=project.headers, json={"flow": {"definition": NEW}}
    )
    assert edited.status_code == 200, edited.text
    for execution_id in old:  # still waiting at a node the new version does not have
        shown = await get_execution(client, project, execution_id)
        assert shown["status"] == "waiting"
        assert shown["current_step"]["node_id"] == "wait"

    new = str((await start_execution(client, project, flow_id, phone="+15550002000"))["id"])
    assert (await execution_row(resources, new)).flow_version_id != old_version

    for i, execution_id in enumerate([*old, new]):
        resumed = await client.post(
            f"/api/v1/flow_executions/{execution_id}/resume",
            headers=project.headers,
            json={"input": f"a{i}"},
        )
        assert resumed.status_code == 200, resumed.text
    await Worker(resources).run_until_idle()

    for execution_id in [*old, new]:
        row = await execution_row(resources, execution_id)
        assert row.status == "ended", (execution_id, row.status, row.error)
    for execution_id in old:
        assert (await execution_row(resources, execution_id)).flow_version_id == old_version
    assert sandbox_bodies(sandbox) == {
        "Old question?": 3,
        **{f"Old extra for a{i}": 1 for i in range(3)},
        **{f"Old reply: a{i}": 1 for i in range(3)},
        "New question?": 1,
        "New reply: a3": 1,
    }
