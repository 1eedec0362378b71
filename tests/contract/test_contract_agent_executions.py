"""Agent executions, test chats and a conversation's agent executions, checked against
``openapi.yaml`` and ``openapi-agents.yaml``.

One adjustment: ``AgentExecution.status`` lists ``started, running, paused, ended,
handoff``, while ``PUT .../executions/{id}`` sets ``failed`` and ``stopped`` too (and a
model that keeps failing fails a run): the answer's enum is the PUT's.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx

from agent_builders import LOCAL_MODEL, ask, create_agent, script, start_agent, start_test_chat
from agent_graphs import simple_graph
from builders import TestProject, create_project, run_jobs
from contract.test_contract_kapso_v1 import AGENTS, CORE, Spec, check, load_spec
from llm_builders import LiveModelServer
from threadline.kit.resources import Resources

STATUSES = ["started", "running", "paused", "ended", "handoff", "failed", "stopped"]
EXECUTION = "/agents/{agent_id}/executions/{execution_id}"


def _spec(name: str) -> Spec:
    spec = load_spec(name)
    schema: dict[str, Any] = copy.deepcopy(spec.schemas["AgentExecution"])
    schema["properties"]["status"]["enum"] = STATUSES
    return spec.with_schemas({"AgentExecution": schema})


def _both(path: str, *answers: httpx.Response) -> None:
    for spec in (_spec(AGENTS), _spec(CORE)):
        for answer in answers:
            check(spec, path, answer)


def _core(path: str, *answers: httpx.Response) -> None:
    for answer in answers:
        check(_spec(CORE), path, answer)


async def _paused_execution(
    client: httpx.AsyncClient, resources: Resources, project: TestProject
) -> tuple[str, str]:
    agent = await create_agent(client, project, simple_graph())
    started = await start_agent(client, project, agent["id"])
    await run_jobs(resources)
    return agent["id"], started["id"]


async def test_contract_agent_executions(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?"), ask("And?")))
    project = await create_project(resources, sandbox_url)
    headers = project.headers
    agent_id, execution_id = await _paused_execution(client, resources, project)
    base = f"/api/v1/agents/{agent_id}/executions"

    started = await client.post(base, headers=headers, json={"phone_number": "+15550004444"})
    no_phone = await client.post(base, headers=headers, json={"message": "hi"})
    unknown_agent = await client.post(
        f"/api/v1/agents/{uuid.uuid4()}/executions", headers=headers, json={"message": "x"}
    )
    _both("/agents/{agent_id}/executions", started, no_phone, unknown_agent)
    listed = await client.get(base, headers=headers, params={"q[status_eq]": "paused"})
    assert [e["id"] for e in listed.json()["data"]] == [execution_id]
    _both("/agents/{agent_id}/executions", listed)

    one = await client.get(f"{base}/{execution_id}", headers=headers)
    missing = await client.get(f"{base}/{uuid.uuid4()}", headers=headers)
    body = {"message": {"type": "user_input", "content": {"text": "A-1"}}}
    resumed = await client.post(f"{base}/{execution_id}/resume", headers=headers, json=body)
    again = await client.post(f"{base}/{execution_id}/resume", headers=headers, json=body)
    _both(EXECUTION, one, missing)
    _both(EXECUTION + "/resume", resumed, again)
    assert again.status_code == 400

    await run_jobs(resources)
    stopped = await client.put(
        f"{base}/{execution_id}", headers=headers, json={"agent_execution": {"status": "stopped"}}
    )
    refused = await client.put(
        f"{base}/{execution_id}", headers=headers, json={"agent_execution": {"status": "paused"}}
    )
    for answer in (stopped, refused):  # PUT is in openapi-agents.yaml only
        check(_spec(AGENTS), EXECUTION, answer)
    assert (stopped.status_code, stopped.json()["data"]["status"]) == (200, "stopped")
    assert refused.status_code == 422


async def test_contract_test_chats_and_conversation_agent_executions(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, model_server: LiveModelServer
) -> None:
    await model_server.load_script(LOCAL_MODEL, script(ask("Which order?"), ask("A-?")))
    project = await create_project(resources, sandbox_url)
    headers = project.headers
    agent_id, execution_id = await _paused_execution(client, resources, project)
    execution = (
        await client.get(f"/api/v1/agents/{agent_id}/executions/{execution_id}", headers=headers)
    ).json()["data"]
    conversation = execution["whatsapp_conversation_id"]
    path = f"/api/v1/whatsapp_conversations/{conversation}/agent_executions"
    listed = await client.get(path, headers=headers)
    one = await client.get(f"{path}/{execution_id}", headers=headers)
    missing = await client.get(f"{path}/{uuid.uuid4()}", headers=headers)
    _core("/whatsapp_conversations/{conversation_id}/agent_executions", listed)
    _core("/whatsapp_conversations/{conversation_id}/agent_executions/{id}", one, missing)

    chat = await start_test_chat(client, project, f"/api/v1/agents/{agent_id}/test_chats", "hi")
    created = await client.post(
        f"/api/v1/agents/{agent_id}/test_chats", headers=headers, json={"message": "hello"}
    )
    await run_jobs(resources)
    got = await client.get(f"/api/v1/test_chats/{chat['id']}", headers=headers)
    resumed = await client.post(
        f"/api/v1/test_chats/{chat['id']}/resume",
        headers=headers,
        json={"message": {"type": "payload", "content": {"note": "from a manager"}}},
    )
    unknown = await client.get(f"/api/v1/test_chats/{uuid.uuid4()}", headers=headers)
    _core("/agents/{agent_id}/test_chats", created)
    _core("/test_chats/{id}", got, unknown)
    _core("/test_chats/{id}/resume", resumed)
    assert got.json()["data"]["status"] == "completed"
