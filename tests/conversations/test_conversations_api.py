"""GET/PATCH /whatsapp_conversations and GET .../whatsapp_messages, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from builders import (
    add_inbound_message,
    create_project,
    inbound_text_message,
    open_conversation,
)
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources

BASE = "/api/v1/whatsapp_conversations"


async def test_list_filters_and_paginates_the_projects_conversations(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    ada = await open_conversation(resources, project, phone="+15550000001", name="Ada")
    bob = await open_conversation(resources, project, phone="+15550000002", name=None)
    await open_conversation(resources, other, phone="+15550000001")
    ended = await client.patch(
        f"{BASE}/{bob.id}",
        headers=project.headers,
        json={"whatsapp_conversation": {"status": "ended"}},
    )
    assert ended.status_code == 200, ended.text

    listing = await client.get(BASE, headers=project.headers)
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert {c["id"] for c in body["data"]} == {ada.id, bob.id}
    assert body["meta"] == {"page": 1, "per_page": 20, "total_pages": 1, "total_count": 2}
    names = {c["id"]: c["contact_name"] for c in body["data"]}
    assert names == {ada.id: "Ada", bob.id: "+15550000002"}

    async def ids(**params: str) -> list[str]:
        response = await client.get(BASE, headers=project.headers, params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]]

    assert await ids(**{"q[status_eq]": "active"}) == [ada.id]
    assert await ids(**{"q[status_eq]": "ended"}) == [bob.id]
    assert await ids(**{"q[phone_number_eq]": "+1 (555) 000-0001"}) == [ada.id]
    assert await ids(**{"q[phone_number_eq]": "15550000002"}) == [bob.id]
    assert len(await ids(**{"q[whatsapp_config_id_eq]": ada.config_id})) == 2
    assert await ids(**{"q[whatsapp_config_id_eq]": str(uuid.uuid4())}) == []
    assert await ids(**{"q[whatsapp_config_customer_id_eq]": str(uuid.uuid4())}) == []
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    earlier = (utcnow() - timedelta(minutes=5)).isoformat()
    assert await ids(**{"q[last_active_at_gteq]": later}) == []
    assert (
        len(await ids(**{"q[last_active_at_gteq]": earlier, "q[last_active_at_lteq]": later})) == 2
    )
    paged = await client.get(BASE, headers=project.headers, params={"per_page": 1, "page": 2})
    assert paged.json()["meta"] == {"page": 2, "per_page": 1, "total_pages": 2, "total_count": 2}
    assert len(paged.json()["data"]) == 1


async def test_bad_list_filters_are_clear_4xx(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    for params in (
        {"q[status_eq]": "open"},
        {"q[phone_number_eq]": "call me"},
        {"q[whatsapp_config_id_eq]": "nope"},
        {"q[last_active_at_gteq]": "yesterday"},
        {"per_page": "101"},
        {"page": "0"},
    ):
        response = await client.get(BASE, headers=project.headers, params=params)
        assert 400 <= response.status_code < 500, (params, response.text)
        assert response.json()["message"], params


async def test_get_a_conversation_and_not_another_projects(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    mine = await open_conversation(resources, project)
    theirs = await open_conversation(resources, other)

    response = await client.get(f"{BASE}/{mine.id}", headers=project.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == mine.id and data["status"] == "active"
    assert data["phone_number"] == "+15550002222" and data["whatsapp_config_id"] == mine.config_id
    assert data["last_inbound_at"] is not None and data["ended_at"] is None

    for missing in (theirs.id, str(uuid.uuid4())):
        response = await client.get(f"{BASE}/{missing}", headers=project.headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "WhatsApp conversation not found"
    response = await client.get(f"{BASE}/not-an-id", headers=project.headers)
    assert 400 <= response.status_code < 500


async def test_patch_ends_and_reopens_a_conversation(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    url = f"{BASE}/{conversation.id}"

    def status(value: str) -> dict[str, object]:
        return {"whatsapp_conversation": {"status": value}}

    ended = await client.patch(url, headers=project.headers, json=status("ended"))
    assert ended.status_code == 200, ended.text
    data = ended.json()["data"]
    assert data["status"] == "ended" and data["ended_reason"] == "api"
    assert data["ended_at"] is not None
    again = await client.patch(url, headers=project.headers, json=status("ended"))
    assert again.json()["data"]["ended_at"] == data["ended_at"]

    reopened = await client.patch(url, headers=project.headers, json=status("active"))
    assert reopened.status_code == 200, reopened.text
    data = reopened.json()["data"]
    assert data["status"] == "active" and data["ended_at"] is None and data["ended_reason"] is None


async def test_reopening_is_refused_while_another_conversation_is_active(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    first = await open_conversation(resources, project)
    end = {"whatsapp_conversation": {"status": "ended"}}
    assert (await client.patch(f"{BASE}/{first.id}", headers=project.headers, json=end)).is_success
    second = await open_conversation(resources, project)
    assert second.id != first.id

    response = await client.patch(
        f"{BASE}/{first.id}",
        headers=project.headers,
        json={"whatsapp_conversation": {"status": "active"}},
    )
    assert response.status_code == 422, response.text
    assert "end it first" in response.json()["message"]
    kept = await client.get(f"{BASE}/{first.id}", headers=project.headers)
    assert kept.json()["data"]["status"] == "ended"


async def test_bad_patches_change_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    conversation = await open_conversation(resources, project)
    theirs = await open_conversation(resources, other)
    url = f"{BASE}/{conversation.id}"
    for body in (
        {},
        {"whatsapp_conversation": {}},
        {"whatsapp_conversation": {"status": "closed"}},
        {"whatsapp_conversation": {"status": "ended", "phone_number": "+1555"}},
    ):
        response = await client.patch(url, headers=project.headers, json=body)
        assert response.status_code == 422, (body, response.text)
    response = await client.patch(
        f"{BASE}/{theirs.id}",
        headers=project.headers,
        json={"whatsapp_conversation": {"status": "ended"}},
    )
    assert response.status_code == 404
    for conv, headers in ((conversation, project.headers), (theirs, other.headers)):
        shown = await client.get(f"{BASE}/{conv.id}", headers=headers)
        assert shown.json()["data"]["status"] == "active"


async def test_messages_of_both_directions_newest_first_with_filters(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    conversation = await open_conversation(resources, project)
    first = await add_inbound_message(resources, project, conversation, inbound_text_message("hi"))
    image = {"type": "image", "image": {"id": "media-1", "mime_type": "image/jpeg"}}
    await add_inbound_message(resources, project, conversation, image)
    url = f"{BASE}/{conversation.id}/whatsapp_messages"

    response = await client.get(url, headers=project.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [m["message_type"] for m in body["data"]] == ["image", "text"]
    assert body["meta"]["total_count"] == 2
    text = body["data"][1]
    assert text["id"] == str(uuid.UUID(int=first)) and text["content"] == "hi"
    assert text["direction"] == "inbound" and text["message_type_data"] == {"text": "hi"}
    assert text["media_url"] is None
    media = body["data"][0]
    assert media["media_url"] == f"/api/v1/whatsapp_messages/{media['id']}/media"
    assert media["message_type_data"] == {"media_id": "media-1", "mime_type": "image/jpeg"}

    filtered = await client.get(url, headers=project.headers, params={"q[message_type_eq]": "text"})
    assert [m["content"] for m in filtered.json()["data"]] == ["hi"]
    outbound = await client.get(
        url, headers=project.headers, params={"q[direction_eq]": "outbound"}
    )
    assert outbound.json()["data"] == []
    paged = await client.get(url, headers=project.headers, params={"per_page": 1, "page": 2})
    assert [m["content"] for m in paged.json()["data"]] == ["hi"]

    foreign = await client.get(url, headers=other.headers)
    assert foreign.status_code == 404
    bad = await client.get(url, headers=project.headers, params={"q[direction_eq]": "up"})
    assert bad.status_code == 422
