"""Deleting WhatsApp configs and customers: refused while in use, forced, never orphans."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from builders import (
    TestProject,
    add_inbound_trigger,
    ask_and_reply,
    chain,
    count_rows,
    create_active_flow,
    create_customer,
    create_project,
    create_whatsapp_config,
    get_execution,
    node,
    open_conversation_on,
    resume,
    run_jobs,
)
from threadline.conversations.service import end
from threadline.executions.keys import TIMEOUT_TASK
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import (
    FlowExecution,
    FlowTrigger,
    Job,
    WhatsappConfig,
    WhatsappContact,
    WhatsappConversation,
    WhatsappMessage,
)


async def _start(
    client: httpx.AsyncClient, project: TestProject, flow_id: str, config_id: str
) -> str:
    """Start the flow on the config; the execution's id once the worker is idle."""
    response = await client.post(
        f"/api/v1/flows/{flow_id}/executions",
        headers=project.headers,
        json={"phone_number": "+15550001111", "whatsapp_config_id": config_id},
    )
    assert response.status_code == 202, response.text
    listing = await client.get(f"/api/v1/flows/{flow_id}/executions", headers=project.headers)
    tracking = response.json()["tracking_id"]
    [execution] = [e for e in listing.json()["data"] if e["tracking_id"] == tracking]
    return str(execution["id"])


async def _config_ids_of_executions(resources: Resources) -> list[uuid.UUID | None]:
    async with resources.db.read() as session:
        rows = await session.execute(select(FlowExecution.whatsapp_config_id))
        return list(rows.scalars())


async def _count_where(resources: Resources, model: Any, *conditions: Any) -> int:
    async with resources.db.read() as session:
        statement = select(func.count()).select_from(model).where(*conditions)
        return int((await session.execute(statement)).scalar_one())


async def _sandbox_config(
    client: httpx.AsyncClient, project: TestProject, customer_id: str
) -> dict[str, Any]:
    return await create_whatsapp_config(client, project, customer_id, kind="sandbox")


async def test_an_unused_config_goes_with_its_triggers_and_messages(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await _sandbox_config(client, project, customer["id"])
    kept = await _sandbox_config(client, project, customer["id"])
    flow_id = await create_active_flow(
        client, project, chain(node("start", "start"), node("hi", "send_text", message="Hi"))
    )
    await add_inbound_trigger(client, project, flow_id, whatsapp_config_id=config["id"])
    await add_inbound_trigger(client, project, flow_id, whatsapp_config_id=kept["id"])
    execution_id = await _start(client, project, flow_id, config["id"])
    await run_jobs(resources)
    assert (await get_execution(client, project, execution_id))["status"] == "ended"
    conversation = await open_conversation_on(resources, project, kept["id"])
    assert await count_rows(resources, WhatsappMessage) == 2  # one on each config

    path = f"/api/v1/whatsapp_configs/{config['id']}"
    refused = await client.delete(path, headers=project.headers)
    assert refused.status_code == 422, refused.text  # the flow's conversation is open
    assert "0 live executions" in refused.text and "1 open conversation:" in refused.text
    await _end_conversations(resources, config["id"])
    deleted = await client.delete(path, headers=project.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(path, headers=project.headers)).status_code == 404
    execution = await get_execution(client, project, execution_id)
    assert execution["status"] == "ended"  # history stays, unlinked from the config
    assert await _config_ids_of_executions(resources) == [None]
    config_id = uuid.UUID(config["id"])
    assert (
        await _count_where(resources, FlowTrigger, FlowTrigger.whatsapp_config_id == config_id) == 0
    )
    assert await count_rows(resources, FlowTrigger) == 2  # the API trigger and ``kept``'s
    [message] = await _messages(resources)
    assert message.conversation_id == uuid.UUID(conversation)  # the other config's stays
    assert await count_rows(resources, WhatsappConversation) == 1


async def _end_conversations(resources: Resources, config_id: str) -> None:
    """End the config's conversations, as their inactivity timer would."""
    async with resources.db.transaction() as session:
        statement = select(WhatsappConversation).where(
            WhatsappConversation.whatsapp_config_id == uuid.UUID(config_id)
        )
        for conversation in (await session.execute(statement)).scalars():
            end(conversation, "inactivity", utcnow())


async def _messages(resources: Resources) -> list[WhatsappMessage]:
    async with resources.db.read() as session:
        rows = list((await session.execute(select(WhatsappMessage))).scalars())
        for row in rows:
            session.expunge(row)
        return rows


async def test_a_config_in_use_is_refused_until_forced(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await _sandbox_config(client, project, customer["id"])
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution_id = await _start(client, project, flow_id, config["id"])
    await run_jobs(resources)
    assert (await get_execution(client, project, execution_id))["status"] == "waiting"
    await open_conversation_on(resources, project, config["id"])
    await open_conversation_on(resources, project, config["id"], phone="15550008888")
    path = f"/api/v1/whatsapp_configs/{config['id']}"

    refused = await client.delete(path, headers=project.headers)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "WhatsApp config in use"
    # The API-started execution joined its phone's conversation: three are open.
    assert "1 live execution " in body["message"] and "3 open conversations" in body["message"]
    assert f"DELETE {path}?force=true" in body["message"]
    assert (await client.get(path, headers=project.headers)).status_code == 200
    assert (await get_execution(client, project, execution_id))["status"] == "waiting"
    assert await count_rows(resources, WhatsappConversation) == 3
    not_forced = await client.delete(path, headers=project.headers, params={"force": "false"})
    assert not_forced.status_code == 422
    bad = await client.delete(path, headers=project.headers, params={"force": "maybe"})
    assert bad.status_code == 422 and "force" in bad.json()["message"]

    forced = await client.delete(path, headers=project.headers, params={"force": "true"})
    assert forced.status_code == 204, forced.text
    execution = await get_execution(client, project, execution_id)
    assert execution["status"] == "failed"
    assert (await resume(client, project, execution_id, {"message": "late"})).status_code == 422
    timers = await _count_where(resources, Job, Job.task == TIMEOUT_TASK, Job.status == "queued")
    assert timers == 0
    await run_jobs(resources)
    assert (await get_execution(client, project, execution_id))["status"] == "failed"
    assert await count_rows(resources, WhatsappConversation) == 0
    assert await count_rows(resources, WhatsappMessage) == 0
    assert await count_rows(resources, WhatsappContact) == 3  # contacts belong to the project
    assert await _config_ids_of_executions(resources) == [None]


async def test_a_customer_delete_follows_the_config_rule(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    idle = await create_whatsapp_config(client, project, customer["id"])
    busy = await _sandbox_config(client, project, customer["id"])
    await open_conversation_on(resources, project, busy["id"])
    path = f"/api/v1/customers/{customer['id']}"

    refused = await client.delete(path, headers=project.headers)
    assert refused.status_code == 422, refused.text
    message = refused.json()["message"]
    assert "its 2 WhatsApp configs" in message and "1 open conversation" in message
    assert f"DELETE {path}?force=true" in message
    configs = [f"/api/v1/whatsapp_configs/{config['id']}" for config in (idle, busy)]
    for config_path in configs:
        assert (await client.get(config_path, headers=project.headers)).status_code == 200

    forced = await client.delete(path, headers=project.headers, params={"force": "true"})
    assert forced.status_code == 204, forced.text
    assert (await client.get(path, headers=project.headers)).status_code == 404
    for config_path in configs:
        assert (await client.get(config_path, headers=project.headers)).status_code == 404
    assert await count_rows(resources, WhatsappConfig) == 1  # the project's default one
    assert await count_rows(resources, WhatsappConversation) == 0


async def test_a_forced_delete_racing_a_resume_leaves_one_outcome(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    config = await _sandbox_config(client, project, customer["id"])
    flow_id = await create_active_flow(client, project, ask_and_reply())
    executions = [await _start(client, project, flow_id, config["id"]) for _ in range(5)]
    await run_jobs(resources)
    path = f"/api/v1/whatsapp_configs/{config['id']}"

    answers = await asyncio.gather(
        client.delete(path, headers=project.headers, params={"force": "true"}),
        *(resume(client, project, e, {"message": "yes"}) for e in executions),
    )
    assert answers[0].status_code == 204, answers[0].text
    assert {a.status_code for a in answers[1:]} <= {202, 422}, [a.text for a in answers]
    await run_jobs(resources)
    for execution_id in executions:
        execution = await get_execution(client, project, execution_id)
        assert execution["status"] == "failed", execution
    assert await count_rows(resources, WhatsappMessage) == 0
    assert await _config_ids_of_executions(resources) == [None] * 5
