"""A stored flow version is parsed, not re-validated: later, stricter rules never break it.

The version is written straight into the table with a definition that today's rules
refuse (an unreachable node, an edge label its node has no exit for), as a version saved
under older, laxer rules would be. Executions pinned to it start, run and read back.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from builders import (
    ask_and_reply,
    create_active_flow,
    create_project,
    edge,
    get_execution,
    node,
    resume,
    run_jobs,
    start_execution,
)
from threadline.flows.definition import DefinitionInvalid, validate_definition
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Flow, FlowVersion
from threadline.sandbox.state import SandboxState


def _refused_today() -> dict[str, Any]:
    definition = ask_and_reply()
    definition["nodes"].append(node("orphan", "send_text", message="never reached"))
    definition["edges"].append(edge("ask", "reply", label="no_such_exit"))
    return definition


async def _pin_new_version(resources: Resources, flow_id: str, definition: dict[str, Any]) -> None:
    version_id = uuid.uuid4()
    async with resources.db.transaction() as session:
        flow = await session.get(Flow, uuid.UUID(flow_id))
        assert flow is not None
        session.add(
            FlowVersion(
                id=version_id,
                project_id=flow.project_id,
                flow_id=uuid.UUID(flow_id),
                number=2,
                definition=definition,
                created_at=utcnow(),
            )
        )
        await session.flush()
        await session.execute(
            update(Flow).where(Flow.id == uuid.UUID(flow_id)).values(current_version_id=version_id)
        )


def test_the_stored_definition_is_one_todays_rules_refuse() -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        validate_definition(_refused_today())
    fields = {problem.field for problem in refused.value.problems}
    assert fields == {"id", "edges[3].label"}, refused.value.problems


async def test_an_execution_pinned_to_a_version_refused_today_runs_and_reads(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    await _pin_new_version(resources, flow_id, _refused_today())

    execution = await start_execution(client, project, flow_id)
    await run_jobs(resources)
    assert (await get_execution(client, project, execution["id"]))["status"] == "waiting"
    answered = await resume(client, project, execution["id"], {"input": "hi"})
    assert answered.status_code == 200, answered.text
    await run_jobs(resources)

    finished = await get_execution(client, project, execution["id"])
    assert finished["status"] == "ended", finished
    events = await client.get(
        f"/api/v1/flow_executions/{execution['id']}/events", headers=project.headers
    )
    assert events.status_code == 200, events.text
    listed = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=project.headers)
    assert listed.status_code == 200, listed.text
    shown = await client.get(f"/api/v1/flows/{flow_id}/definition", headers=project.headers)
    assert shown.status_code == 200, shown.text
    assert {n["id"] for n in shown.json()["data"]["definition"]["nodes"]} >= {"orphan"}
