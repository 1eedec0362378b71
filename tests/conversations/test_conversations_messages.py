"""Sending through the API: the outbox, the 24-hour window, Meta's limits, order, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from builders import (
    add_inbound_message,
    create_project,
    inbound_text_message,
    open_conversation,
    run_jobs,
    send_api_message,
)
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage
from threadline.sandbox.state import SandboxState


async def _count(resources: Resources) -> int:
    async with resources.db.session() as session:
        return int((await session.execute(select(func.count(WhatsappMessage.id)))).scalar_one())


def _bodies(sandbox: SandboxState) -> list[Any]:
    return [m.payload.get("text", {}).get("body", m.payload.get("type")) for m in sandbox.outbox]


KINDS: list[dict[str, Any]] = [
    {"content": "hello", "message_type": "text"},
    {"message_type": "image", "media_url": "https://example.com/a.jpg", "caption": "cat"},
    {"message_type": "document", "media_id": "123", "filename": "a.pdf"},
    {"message_type": "audio", "media_url": "https://example.com/a.ogg"},
    {"message_type": "sticker", "media_id": "456"},
    {"message_type": "video", "media_url": "https://example.com/a.mp4", "content": "clip"},
    {"message_type": "location", "latitude": 37.7, "longitude": -122.4, "location_name": "SF"},
    {
        "message_type": "interactive",
        "interactive_type": "button",
        "body_text": "Pick",
        "buttons": [{"id": "y", "title": "Yes"}, {"id": "n", "title": "No"}],
    },
    {
        "message_type": "interactive",
        "interactive_type": "list",
        "body_text": "Pick",
        "list_button_text": "Options",
        "sections": [{"title": "S", "rows": [{"id": "r1", "title": "Row"}]}],
    },
    {"message_type": "reaction", "reaction_emoji": "👍", "reacted_to_message_id": "wamid.x"},
    {"message_type": "contacts", "contacts": [{"name": {"first_name": "Bo"}}]},
    {
        "message_type": "template",
        "template_name": "order_update",
        "template_language": "en_US",
        "template_params": ["Ana", "A-1"],
    },
]


async def test_every_message_type_is_queued_then_sent_through_the_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    for message in KINDS:
        response = await send_api_message(client, project, conversation.id, message)
        assert response.status_code == 201, (message, response.text)
        data = response.json()["data"]
        assert data["status"] == "queued" and data["direction"] == "outbound"
        assert data["message_type"] == message["message_type"]
    await run_jobs(resources)

    listing = await client.get(
        f"/api/v1/whatsapp_conversations/{conversation.id}/whatsapp_messages",
        headers=project.headers,
        params={"per_page": 100},
    )
    rows = listing.json()["data"]
    assert {m["status"] for m in rows} == {"sent"}, [
        (m["message_type"], m["error"]) for m in rows if m["status"] != "sent"
    ]
    assert all(m["whatsapp_message_id"] for m in rows)
    assert [m.payload["type"] for m in sandbox.outbox] == [k["message_type"] for k in KINDS]


async def test_free_form_outside_the_window_is_refused_and_a_template_is_sent(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    last = utcnow() - timedelta(hours=25)
    stale = await open_conversation(resources, project, phone="+15550000011", inbound_at=last)
    never = await open_conversation(resources, project, phone="+15550000012", inbound_at=None)

    closed = await send_api_message(client, project, stale.id, {"content": "hi"})
    assert closed.status_code == 422, closed.text
    assert "closed at" in closed.json()["message"] and "template" in closed.json()["message"]
    assert (last + timedelta(hours=24)).isoformat()[:16] in closed.json()["message"]
    unopened = await send_api_message(client, project, never.id, {"content": "hi"})
    assert unopened.status_code == 422
    assert "never opened" in unopened.json()["message"]
    assert await _count(resources) == 0

    template = {
        "message_type": "template",
        "template_name": "hello_world",
        "template_language": "en_US",
    }
    for conversation in (stale, never):
        sent = await send_api_message(client, project, conversation.id, template)
        assert sent.status_code == 201, sent.text
    await run_jobs(resources)
    assert [m.payload["type"] for m in sandbox.outbox] == ["template", "template"]


@pytest.mark.parametrize(
    "message",
    [
        {"content": "x" * 4097},
        {"content": ""},
        {"message_type": "image", "media_url": "https://e.com/a.jpg", "caption": "c" * 1025},
        {"message_type": "image"},
        {"message_type": "image", "media_url": "ftp://e.com/a.jpg"},
        {"message_type": "audio", "media_id": "1", "caption": "no"},
        {"message_type": "location", "latitude": 91, "longitude": 0},
        {"message_type": "location", "latitude": 1},
        {
            "message_type": "interactive",
            "body_text": "Pick",
            "buttons": [{"id": str(i), "title": f"B{i}"} for i in range(4)],
        },
        {
            "message_type": "interactive",
            "body_text": "Pick",
            "buttons": [{"id": "a", "title": "t" * 21}],
        },
        {"message_type": "interactive", "interactive_type": "list", "body_text": "Pick"},
        {"message_type": "template", "template_name": "hello"},
        {"message_type": "reaction", "reaction_emoji": "👍"},
        {"message_type": "reaction", "reacted_to_message_id": str(uuid.UUID(int=999))},
        {"message_type": "contacts", "contacts": [{"name": {}}]},
        {"message_type": "fax", "content": "hi"},
        {"content": "hi", "colour": "red"},
    ],
)
async def test_bad_bodies_are_refused_before_anything_is_stored(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, message: dict[str, Any]
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    response = await send_api_message(client, project, conversation.id, message)
    assert response.status_code == 422, response.text
    assert response.json()["message"]
    assert await _count(resources) == 0


async def test_sends_to_unknown_ended_or_foreign_conversations_are_refused(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    theirs = await open_conversation(resources, other)
    mine = await open_conversation(resources, project)
    await client.patch(
        f"/api/v1/whatsapp_conversations/{mine.id}",
        headers=project.headers,
        json={"whatsapp_conversation": {"status": "ended"}},
    )
    for conversation_id in (theirs.id, str(uuid.uuid4())):
        response = await send_api_message(client, project, conversation_id, {"content": "hi"})
        assert response.status_code == 404, response.text
    ended = await send_api_message(client, project, mine.id, {"content": "hi"})
    assert ended.status_code == 422 and "ended" in ended.json()["message"]
    assert await _count(resources) == 0


async def test_post_whatsapp_messages_opens_the_contact_and_conversation(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    template = {
        "phone_number": "+1 555 000 0099",
        "message_type": "template",
        "template_name": "hello_world",
        "template_language": "en_US",
    }
    response = await client.post(
        "/api/v1/whatsapp_messages", headers=project.headers, json={"message": template}
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["phone_number"] == "+15550000099" and data["conversation_id"]
    free = await client.post(
        "/api/v1/whatsapp_messages",
        headers=project.headers,
        params={"phone_number": "+15550000099"},
        json={"message": {"content": "hi"}},
    )
    assert free.status_code == 422, "the contact never wrote"
    await run_jobs(resources)
    assert [m.payload["template"]["name"] for m in sandbox.outbox] == ["hello_world"]
    conversations = await client.get("/api/v1/whatsapp_conversations", headers=project.headers)
    assert [c["id"] for c in conversations.json()["data"]] == [data["conversation_id"]]

    for params, body in (
        ({}, {"content": "hi"}),
        ({"whatsapp_config_id": str(uuid.uuid4())}, {"phone_number": "+15550000099"}),
        ({"customer_id": str(uuid.uuid4())}, {"phone_number": "+15550000099"}),
        ({}, {"phone_number": "not a phone", "content": "hi"}),
    ):
        bad = await client.post(
            "/api/v1/whatsapp_messages",
            headers=project.headers,
            params=params,
            json={"message": body},
        )
        assert bad.status_code == 422, (params, body, bad.text)
    assert await _count(resources) == 1


async def test_twenty_api_sends_then_ten_concurrent_ones_are_sent_once_in_order(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)

    async def send(index: int) -> None:
        response = await send_api_message(
            client, project, conversation.id, {"content": f"m{index}"}
        )
        assert response.status_code == 201, response.text

    for index in range(20):
        await send(index)
    # Concurrent sends: each is stored and delivered once, in the order they committed.
    await asyncio.gather(*(send(index) for index in range(20, 30)))
    await asyncio.gather(*(run_jobs(resources) for _ in range(3)))

    async with resources.db.session() as session:
        rows = list(
            (await session.execute(select(WhatsappMessage).order_by(WhatsappMessage.id))).scalars()
        )
    assert [m.status for m in rows] == ["sent"] * 30
    in_order = [m.payload["text"]["body"] for m in rows]
    assert _bodies(sandbox) == in_order
    assert in_order[:20] == [f"m{i}" for i in range(20)]
    assert sorted(in_order[20:]) == sorted(f"m{i}" for i in range(20, 30))


async def test_mark_as_read_records_it_and_a_job_sends_one_receipt(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    first = await add_inbound_message(
        resources, project, conversation, inbound_text_message("hi"), wamid="wamid.in.1"
    )
    second = await add_inbound_message(
        resources, project, conversation, inbound_text_message("again"), wamid="wamid.in.2"
    )

    url = f"/api/v1/whatsapp_messages/{uuid.UUID(int=first)}/mark_as_read"
    for _ in range(2):
        response = await client.patch(url, headers=project.headers)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["status"] == "read" and data["read_at"] is not None
    assert sandbox.reads == [], "the Graph call never runs in the request"
    quiet = f"/api/v1/whatsapp_messages/{uuid.UUID(int=second)}/mark_as_read"
    response = await client.patch(
        quiet, headers=project.headers, params={"typing_indicator": "false"}
    )
    assert response.status_code == 200, response.text
    await run_jobs(resources)

    receipts = sorted((r["message_id"], r["typing_indicator"]) for r in sandbox.reads)
    assert receipts == [("wamid.in.1", True), ("wamid.in.2", False)]


async def test_mark_as_read_refuses_outbound_unknown_and_foreign_messages(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    conversation = await open_conversation(resources, project)
    theirs = await open_conversation(resources, other)
    foreign = await add_inbound_message(resources, other, theirs, inbound_text_message("hi"))
    sent = await send_api_message(client, project, conversation.id, {"content": "hi"})
    outbound = sent.json()["data"]["id"]

    response = await client.patch(
        f"/api/v1/whatsapp_messages/{outbound}/mark_as_read", headers=project.headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "Can only mark inbound messages as read."
    for missing in (str(uuid.UUID(int=foreign)), str(uuid.uuid4()), "42", "nope"):
        response = await client.patch(
            f"/api/v1/whatsapp_messages/{missing}/mark_as_read", headers=project.headers
        )
        assert response.status_code == 404, (missing, response.text)
        assert response.json()["error"] == "WhatsApp message not found"


async def test_delete_removes_the_message_and_a_queued_one_is_never_sent(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    conversation = await open_conversation(resources, project)
    kept = await send_api_message(client, project, conversation.id, {"content": "kept"})
    dropped = await send_api_message(client, project, conversation.id, {"content": "dropped"})
    url = f"/api/v1/whatsapp_messages/{dropped.json()['data']['id']}"

    assert (await client.delete(url, headers=other.headers)).status_code == 404
    response = await client.delete(url, headers=project.headers)
    assert response.status_code == 204 and response.content == b""
    assert (await client.delete(url, headers=project.headers)).status_code == 404
    await run_jobs(resources)

    assert _bodies(sandbox) == ["kept"]
    listing = await client.get(
        f"/api/v1/whatsapp_conversations/{conversation.id}/whatsapp_messages",
        headers=project.headers,
    )
    assert [m["id"] for m in listing.json()["data"]] == [kept.json()["data"]["id"]]
