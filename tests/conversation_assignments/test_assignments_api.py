"""Assigning conversations to the project's people, and handing a parked flow back.

Over the API (the reference's ``/conversation_assignments``), on both databases, with
the flow's messages delivered to the real HTTP sandbox.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from builders import (
    TestProject,
    chain,
    create_active_flow,
    create_project,
    create_user,
    delivery,
    get_execution,
    inbound_text,
    node,
    open_conversation,
    post_webhook,
    run_jobs,
    start_execution,
    user_key,
)
from contract.test_contract_kapso_v1 import assert_matches, load_spec
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import ConversationAssignment, ExecutionEvent, FlowExecution
from threadline.sandbox.state import SandboxState

PHONE = "+15550001111"
PHONES = ("+15550001112", "+15550001113")
TEMPLATE = "/whatsapp_conversations/{whatsapp_conversation_id}/conversation_assignments"


def _path(conversation_id: str) -> str:
    return f"/api/v1/whatsapp_conversations/{conversation_id}/conversation_assignments"


async def _assign(
    client: httpx.AsyncClient, project: TestProject, conversation_id: str, user_id: str, **more: Any
) -> httpx.Response:
    body = {"conversation_assignment": {"user_id": user_id, **more}}
    return await client.post(_path(conversation_id), json=body, headers=project.headers)


async def _patch(
    client: httpx.AsyncClient,
    project: TestProject,
    conversation_id: str,
    assignment_id: str,
    **change: Any,
) -> httpx.Response:
    body = {"conversation_assignment": change}
    path = f"{_path(conversation_id)}/{assignment_id}"
    return await client.patch(path, json=body, headers=project.headers)


async def _handed_off(
    client: httpx.AsyncClient, resources: Resources, project: TestProject
) -> tuple[str, str]:
    """A run parked on handoff after saying so: (execution id, its conversation id)."""
    flow = chain(
        node("start", "start"),
        node("hold", "send_text", message="A person will answer you"),
        node("human", "handoff"),
        node("back", "send_text", message="Back with the bot"),
    )
    flow_id = await create_active_flow(client, project, flow)
    started = await start_execution(client, project, flow_id, phone=PHONE)
    await run_jobs(resources)
    async with resources.db.session() as session:
        execution = await session.get(FlowExecution, uuid.UUID(started["id"]))
        assert execution is not None and execution.wait_reason == "handoff"
        return started["id"], str(execution.conversation_id)


async def test_an_assignment_keeps_the_handoff_and_ending_it_hands_the_flow_back(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ana = await create_user(resources, project)
    execution_id, conversation_id = await _handed_off(client, resources, project)

    created = await _assign(client, project, conversation_id, ana, notes="VIP")
    assert created.status_code == 201, created.text
    assignment = created.json()["data"]
    assert assignment["active"] is True and assignment["user_id"] == ana
    await post_webhook(client, delivery(messages=[inbound_text("wamid.P", "hello?")]))
    await run_jobs(resources)
    assert (await get_execution(client, project, execution_id))["status"] == "waiting"

    ended = await _patch(client, project, conversation_id, assignment["id"], active=False)
    assert ended.status_code == 200, ended.text
    assert ended.json()["data"]["active"] is False and ended.json()["data"]["ended_at"]
    await run_jobs(resources)

    assert (await get_execution(client, project, execution_id))["status"] == "ended"
    bodies = [e.payload["text"]["body"] for e in sandbox.outbox]
    assert bodies == ["A person will answer you", "Back with the bot"]
    async with resources.db.session() as session:
        kinds = (
            await session.execute(
                select(ExecutionEvent.data).where(
                    ExecutionEvent.execution_id == uuid.UUID(execution_id)
                )
            )
        ).scalars()
        assert any("handoff_released" in str(data) for data in kinds)


async def test_handing_over_to_another_user_keeps_the_flow_parked(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ana, bo = (
        await create_user(resources, project),
        await create_user(resources, project, email="bo@example.com", name="Bo"),
    )
    execution_id, conversation_id = await _handed_off(client, resources, project)
    assignment = (await _assign(client, project, conversation_id, ana)).json()["data"]

    moved = await _patch(client, project, conversation_id, assignment["id"], user_id=bo)

    assert moved.status_code == 200, moved.text
    assert moved.json()["data"]["user_id"] == bo and moved.json()["data"]["active"] is True
    await run_jobs(resources)
    assert (await get_execution(client, project, execution_id))["status"] == "waiting"


async def test_a_second_active_assignment_is_refused_and_the_list_pages(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ana = await create_user(resources, project)
    conversation = await open_conversation(resources, project)
    first = (await _assign(client, project, conversation.id, ana)).json()["data"]

    second = await _assign(client, project, conversation.id, ana)

    assert second.status_code == 422, second.text
    assert first["id"] in second.json()["message"] and "active" in second.json()["message"]
    await _patch(client, project, conversation.id, first["id"], active=False)
    again = await _assign(client, project, conversation.id, ana)
    assert again.status_code == 201, again.text
    listed = await client.get(
        _path(conversation.id), params={"per_page": 1}, headers=project.headers
    )
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["data"]] == [again.json()["data"]["id"]]
    assert listed.json()["meta"] == {"page": 1, "per_page": 1, "total_pages": 2, "total_count": 2}
    assert listed.headers["Total"] == "2" and listed.headers["Total-Pages"] == "2"
    assert 'rel="next"' in listed.headers["Link"] and "page=2" in listed.headers["Link"]


async def test_concurrent_assignments_of_one_conversation_have_one_winner(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    users = [
        await create_user(resources, project, email=f"u{n}@example.com", name=f"U{n}")
        for n in range(4)
    ]
    conversation = await open_conversation(resources, project)

    answers = await asyncio.gather(*(_assign(client, project, conversation.id, u) for u in users))

    assert sorted(a.status_code for a in answers) == [201, 422, 422, 422]


async def test_the_database_itself_refuses_a_second_active_assignment(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ana = uuid.UUID(await create_user(resources, project))
    conversation = uuid.UUID((await open_conversation(resources, project)).id)

    def row() -> ConversationAssignment:
        now = utcnow()
        return ConversationAssignment(
            id=uuid.uuid4(),
            project_id=uuid.UUID(project.id),
            conversation_id=conversation,
            user_id=ana,
            active=True,
            created_at=now,
            updated_at=now,
        )

    with pytest.raises(IntegrityError):
        async with resources.db.transaction() as session:
            session.add_all([row(), row()])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"conversation_assignment": {}},
        {"conversation_assignment": {"user_id": "not-a-uuid"}},
        {"conversation_assignment": {"user_id": str(uuid.uuid4()), "extra": 1}},
    ],
)
async def test_bad_bodies_are_422_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, body: dict[str, Any]
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)

    answer = await client.post(_path(conversation.id), json=body, headers=project.headers)

    assert answer.status_code == 422, answer.text
    listed = await client.get(_path(conversation.id), headers=project.headers)
    assert listed.json()["data"] == []


async def test_another_projects_user_or_conversation_is_refused(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url)
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    their_user = await create_user(resources, theirs)
    their_conversation = await open_conversation(resources, theirs)
    my_conversation = await open_conversation(resources, mine)

    stranger = await _assign(client, mine, my_conversation.id, their_user)
    assert stranger.status_code == 422 and "not a user of this project" in stranger.text
    hidden = await _assign(client, mine, their_conversation.id, await create_user(resources, mine))
    assert hidden.status_code == 404, hidden.text
    listed = await client.get(_path(their_conversation.id), headers=mine.headers)
    assert listed.status_code == 404


async def test_an_ended_assignment_stays_ended(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ana = await create_user(resources, project)
    conversation = await open_conversation(resources, project)
    made = (await _assign(client, project, conversation.id, ana)).json()["data"]
    await _patch(client, project, conversation.id, made["id"], active=False)

    revived = await _patch(client, project, conversation.id, made["id"], active=True)
    noted = await _patch(client, project, conversation.id, made["id"], notes="called back")

    assert revived.status_code == 422 and "create a new one" in revived.text
    assert noted.status_code == 200 and noted.json()["data"]["notes"] == "called back"
    missing = await _patch(client, project, conversation.id, str(uuid.uuid4()), notes="x")
    assert missing.status_code == 404


async def test_responses_match_the_reference(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec("openapi-whatsapp.yaml")
    project = await create_project(resources, sandbox_url)
    ana = await create_user(resources, project)
    conversation = await open_conversation(resources, project)

    created = await _assign(client, project, conversation.id, ana, notes="n")
    assert_matches(spec, TEMPLATE, "post", 201, created.json())
    taken = await _assign(client, project, conversation.id, ana)
    assert_matches(spec, TEMPLATE, "post", 422, taken.json())
    listed = await client.get(_path(conversation.id), headers=project.headers)
    assert_matches(spec, TEMPLATE, "get", 200, listed.json())
    changed = await _patch(
        client, project, conversation.id, created.json()["data"]["id"], notes="m"
    )
    assert_matches(spec, TEMPLATE + "/{id}", "patch", 200, changed.json())


async def test_a_user_holding_a_conversation_cannot_be_removed(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    from threadline.users import service as users
    from threadline.users.service import UserStillAssigned

    project = await create_project(resources, sandbox_url)
    ana = await create_user(resources, project)
    conversation = await open_conversation(resources, project)
    made = (await _assign(client, project, conversation.id, ana)).json()["data"]

    with pytest.raises(UserStillAssigned):
        async with resources.db.transaction() as session:
            await users.remove(session, uuid.UUID(project.id), "ana@example.com")
    await _patch(client, project, conversation.id, made["id"], active=False)
    async with resources.db.transaction() as session:
        await users.remove(session, uuid.UUID(project.id), ana)
    refused = await _assign(client, project, conversation.id, ana)
    assert refused.status_code == 422 and "not a user of this project" in refused.text


async def test_an_assignment_made_with_a_users_key_is_created_by_them(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ana = await create_user(resources, project)
    bo = await create_user(resources, project, email="bo@example.com", name="Bo")
    as_bo = await user_key(resources, project, bo)
    first = await open_conversation(resources, project, phone=PHONES[0])
    second = await open_conversation(resources, project, phone=PHONES[1])

    by_bo = await _assign(client, as_bo, first.id, ana)
    by_project = await _assign(client, project, second.id, ana)

    assert by_bo.status_code == 201, by_bo.text
    assert by_bo.json()["data"]["created_by_user_id"] == bo
    assert by_project.json()["data"]["created_by_user_id"] is None
    async with resources.db.transaction() as session:
        from threadline.users import service as users

        await users.remove(session, uuid.UUID(project.id), bo)
    refused = await client.get(_path(first.id), headers=as_bo.headers)
    assert refused.status_code == 401  # removing a user revokes their keys
    listed = (await client.get(_path(first.id), headers=project.headers)).json()["data"]
    assert [a["created_by_user_id"] for a in listed] == [bo]
