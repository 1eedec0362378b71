"""Notes on a contact: list, create, get, update, delete, reached by contact id or phone."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from builders import count_rows, create_contact, create_note, create_project
from threadline.kit.resources import Resources
from threadline.models import WhatsappContactNote

BASE = "/api/v1/whatsapp_contacts"


async def test_a_note_is_created_and_read_back_by_id_or_phone(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    contact = await create_contact(client, project, "15550102030")
    note = await create_note(
        client, project, "+1 555 010 2030", "Prefers mornings", name="Pref", metadata={"k": 1}
    )
    assert note["content"] == "Prefers mornings" and note["name"] == "Pref"
    assert note["metadata"] == {"k": 1} and uuid.UUID(note["id"])

    for identifier in (contact["id"], "15550102030"):
        got = await client.get(f"{BASE}/{identifier}/notes/{note['id']}", headers=project.headers)
        assert got.status_code == 200, got.text
        assert got.json()["data"] == note


async def test_a_note_without_name_or_metadata_has_null_and_empty(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    note = await create_note(client, project, "15550102030", "Hello")
    assert note["name"] is None and note["metadata"] == {}


async def test_notes_are_listed_newest_first_with_pagination(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    await create_contact(client, project, "15550109999")
    for n in range(3):
        await create_note(client, project, "15550102030", f"note {n}")
    await create_note(client, project, "15550109999", "someone else's")

    path = f"{BASE}/15550102030/notes"
    first = await client.get(path, params={"per_page": 2}, headers=project.headers)
    assert first.status_code == 200
    assert [n["content"] for n in first.json()["data"]] == ["note 2", "note 1"]
    assert first.json()["meta"] == {"page": 1, "per_page": 2, "total_pages": 2, "total_count": 3}
    second = await client.get(path, params={"per_page": 2, "page": 2}, headers=project.headers)
    assert [n["content"] for n in second.json()["data"]] == ["note 0"]


async def test_patch_changes_the_fields_it_names(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    note = await create_note(client, project, "15550102030", "Old", name="N", metadata={"a": 1})
    path = f"{BASE}/15550102030/notes/{note['id']}"

    response = await client.patch(path, json={"note": {"content": "New"}}, headers=project.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["content"], data["name"], data["metadata"]) == ("New", "N", {"a": 1})
    assert data["updated_at"] > note["updated_at"] and data["created_at"] == note["created_at"]

    body = {"note": {"name": None, "metadata": {"b": 2}}}
    data = (await client.patch(path, json=body, headers=project.headers)).json()["data"]
    assert (data["content"], data["name"], data["metadata"]) == ("New", None, {"b": 2})


async def test_delete_removes_the_note_and_only_it(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    doomed = await create_note(client, project, "15550102030", "Doomed")
    await create_note(client, project, "15550102030", "Kept")
    path = f"{BASE}/15550102030/notes/{doomed['id']}"

    response = await client.delete(path, headers=project.headers)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(path, headers=project.headers)).status_code == 404
    assert (await client.delete(path, headers=project.headers)).status_code == 404
    assert await count_rows(resources, WhatsappContactNote) == 1


async def test_another_projects_notes_and_contacts_are_not_found(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner = await create_project(resources, sandbox_url, name="Owner")
    other = await create_project(resources, sandbox_url, name="Other")
    contact = await create_contact(client, owner, "15550102030")
    note = await create_note(client, owner, "15550102030", "Private")
    await create_contact(client, other, "15550102030")  # the same phone, their own contact

    for identifier in (contact["id"], "15550102030"):
        path = f"{BASE}/{identifier}/notes/{note['id']}"
        assert (await client.get(path, headers=other.headers)).status_code == 404
        body = {"note": {"content": "Hijacked"}}
        assert (await client.patch(path, json=body, headers=other.headers)).status_code == 404
        assert (await client.delete(path, headers=other.headers)).status_code == 404
    listed = await client.get(f"{BASE}/15550102030/notes", headers=other.headers)
    assert listed.json()["data"] == []
    foreign = await client.get(f"{BASE}/{contact['id']}/notes", headers=other.headers)
    assert foreign.status_code == 404
    body = {"note": {"content": "x"}}
    created = await client.post(f"{BASE}/{contact['id']}/notes", json=body, headers=other.headers)
    assert created.status_code == 404
    assert await count_rows(resources, WhatsappContactNote) == 1
    kept = await client.get(f"{BASE}/15550102030/notes/{note['id']}", headers=owner.headers)
    assert kept.json()["data"]["content"] == "Private"


async def test_a_note_of_another_contact_is_not_found_through_this_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    await create_contact(client, project, "15550109999")
    note = await create_note(client, project, "15550102030", "Ada's")
    path = f"{BASE}/15550109999/notes/{note['id']}"
    response = await client.get(path, headers=project.headers)
    assert response.status_code == 404 and response.json()["error"] == "Note not found"


async def test_bad_ids_are_clear_errors(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    h = project.headers
    assert (await client.get(f"{BASE}/15550102030/notes/nope", headers=h)).status_code == 422
    missing = await client.get(f"{BASE}/15550102030/notes/{uuid.uuid4()}", headers=h)
    assert missing.status_code == 404
    unknown = await client.get(f"{BASE}/15550100000/notes", headers=h)
    assert unknown.status_code == 404 and unknown.json()["error"] == "Contact not found"
    bad_phone = await client.get(f"{BASE}/abc/notes", headers=h)
    assert bad_phone.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"note": {}},
        {"note": {"content": ""}},
        {"note": {"content": 7}},
        {"note": {"content": "x", "metadata": [1]}},
        {"note": {"content": "x", "name": "n" * 201}},
        {"note": {"content": "x", "pinned": True}},
    ],
)
async def test_bad_create_bodies_are_422_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, body: Any
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    response = await client.post(f"{BASE}/15550102030/notes", json=body, headers=project.headers)
    assert response.status_code == 422, response.text
    assert await count_rows(resources, WhatsappContactNote) == 0


@pytest.mark.parametrize(
    "body",
    [{"note": {"content": None}}, {"note": {"content": ""}}, {"note": {"metadata": "x"}}],
)
async def test_bad_patch_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, body: Any
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030")
    note = await create_note(client, project, "15550102030", "Keep me")
    path = f"{BASE}/15550102030/notes/{note['id']}"
    response = await client.patch(path, json=body, headers=project.headers)
    assert response.status_code == 422, response.text
    assert (await client.get(path, headers=project.headers)).json()["data"] == note
