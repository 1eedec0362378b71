"""Contacts through the API: create, get and update by id or phone number, list with filters."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from builders import count_rows, create_contact, create_customer_row, create_project
from threadline.contacts import service as contacts
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappContact

BASE = "/api/v1/whatsapp_contacts"


async def _list(client: httpx.AsyncClient, headers: dict[str, str], **query: Any) -> Any:
    response = await client.get(BASE, params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _wa_ids(body: Any) -> list[str]:
    return [c["wa_id"] for c in body["data"]]


async def test_create_normalises_the_phone_number_and_keeps_every_field(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer_row(resources, project, "Acme")
    created = await create_contact(
        client,
        project,
        "+1 (555) 010-2030",
        profile_name="Ada",
        customer_id=customer,
        metadata={"tags": ["lead"]},
    )

    assert created["wa_id"] == "15550102030"
    assert created["profile_name"] == "Ada"
    assert created["customer_id"] == customer
    assert created["metadata"] == {"tags": ["lead"]}
    assert uuid.UUID(created["id"]) and created["created_at"] == created["updated_at"]


@pytest.mark.parametrize("identifier", ["{id}", "15550102030", "+15550102030", "+1 555-010-2030"])
async def test_get_and_patch_by_id_or_by_any_notation_of_the_phone(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, identifier: str
) -> None:
    project = await create_project(resources, sandbox_url)
    created = await create_contact(client, project, "15550102030", metadata={"a": 1})
    path = f"{BASE}/{identifier.format(id=created['id'])}"

    got = await client.get(path, headers=project.headers)
    assert got.status_code == 200, got.text
    assert got.json()["data"]["id"] == created["id"]

    body = {"contact": {"profile_name": "Ada VIP", "metadata": {"vip": True}}}
    patched = await client.patch(path, json=body, headers=project.headers)
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert data["profile_name"] == "Ada VIP" and data["metadata"] == {"vip": True}
    assert data["wa_id"] == "15550102030" and data["updated_at"] > created["updated_at"]


async def test_patch_changes_only_the_fields_it_names(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030", profile_name="Ada", metadata={"a": 1})

    only_meta = {"contact": {"metadata": {"b": 2}}}
    response = await client.patch(f"{BASE}/15550102030", json=only_meta, headers=project.headers)
    assert response.json()["data"]["profile_name"] == "Ada"
    only_name = {"contact": {"profile_name": "Bea"}}
    response = await client.patch(f"{BASE}/15550102030", json=only_name, headers=project.headers)
    assert response.json()["data"]["metadata"] == {"b": 2}
    assert response.json()["data"]["profile_name"] == "Bea"


async def test_a_phone_number_the_project_has_is_refused_as_the_reference_says(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_contact(client, project, "15550102030", profile_name="Ada")

    body = {"contact": {"wa_id": "+1 555 010 2030", "profile_name": "Impostor"}}
    response = await client.post(BASE, json=body, headers=project.headers)

    assert response.status_code == 422
    assert response.json()["errors"] == ["Wa_id has already been taken"]
    assert response.json()["status"] == 422 and response.json()["message"]
    got = await client.get(f"{BASE}/15550102030", headers=project.headers)
    assert got.json()["data"]["profile_name"] == "Ada"
    assert await count_rows(resources, WhatsappContact) == 1


async def test_concurrent_creates_of_one_number_make_one_contact(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    body = {"contact": {"wa_id": "15550102030"}}
    responses = await asyncio.gather(
        *(client.post(BASE, json=body, headers=project.headers) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201] + [422] * 5
    assert await count_rows(resources, WhatsappContact) == 1


async def test_the_same_number_in_two_projects_is_two_contacts(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    first = await create_project(resources, sandbox_url, name="First")
    second = await create_project(resources, sandbox_url, name="Second")
    one = await create_contact(client, first, "15550102030")
    two = await create_contact(client, second, "15550102030")
    assert one["id"] != two["id"]


async def test_another_projects_contact_is_not_found_by_id_or_phone(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner = await create_project(resources, sandbox_url, name="Owner")
    other = await create_project(resources, sandbox_url, name="Other")
    contact = await create_contact(client, owner, "15550102030", profile_name="Ada")

    for identifier in (contact["id"], "15550102030", str(uuid.uuid4()), "15550109999"):
        got = await client.get(f"{BASE}/{identifier}", headers=other.headers)
        assert got.status_code == 404, identifier
        assert got.json()["error"] == "Contact not found"
        body = {"contact": {"profile_name": "Hijacked"}}
        patched = await client.patch(f"{BASE}/{identifier}", json=body, headers=other.headers)
        assert patched.status_code == 404
    got = await client.get(f"{BASE}/{contact['id']}", headers=owner.headers)
    assert got.json()["data"]["profile_name"] == "Ada"


@pytest.mark.parametrize(
    "wa_id", ["1234", "1234567890123456", "abc5550102030", "+", "555 01O 2030"]
)
async def test_bad_phone_numbers_are_a_clear_422(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, wa_id: str
) -> None:
    project = await create_project(resources, sandbox_url)
    response = await client.post(BASE, json={"contact": {"wa_id": wa_id}}, headers=project.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "Invalid phone number"
    assert "5 to 15 digits" in response.json()["message"]
    assert await count_rows(resources, WhatsappContact) == 0


@pytest.mark.parametrize("identifier", ["not-a-phone", "1234", "1234-5678-1234-1234-1234"])
async def test_an_identifier_that_is_neither_id_nor_phone_is_a_clear_422(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, identifier: str
) -> None:
    project = await create_project(resources, sandbox_url)
    response = await client.get(f"{BASE}/{identifier}", headers=project.headers)
    assert response.status_code == 422, response.text
    assert "UUID" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contact": {}},
        {"contact": {"wa_id": 15550102030}},
        {"contact": {"wa_id": "15550102030", "metadata": "tags"}},
        {"contact": {"wa_id": "15550102030", "customer_id": "nope"}},
        {"contact": {"wa_id": "15550102030", "profile_name": "x" * 201}},
        {"contact": {"wa_id": "15550102030", "colour": "blue"}},
    ],
)
async def test_bad_create_bodies_are_422_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, body: Any
) -> None:
    project = await create_project(resources, sandbox_url)
    response = await client.post(BASE, json=body, headers=project.headers)
    assert response.status_code == 422, response.text
    assert await count_rows(resources, WhatsappContact) == 0


async def test_a_customer_of_another_project_is_refused(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url, name="Mine")
    other = await create_project(resources, sandbox_url, name="Theirs")
    theirs = await create_customer_row(resources, other, "Their customer")
    body = {"contact": {"wa_id": "15550102030", "customer_id": theirs}}
    response = await client.post(BASE, json=body, headers=project.headers)
    assert response.status_code == 422
    assert response.json()["error"] == "Invalid customer"
    assert await count_rows(resources, WhatsappContact) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"contact": {"wa_id": "15550109999"}},
        {"contact": {"metadata": []}},
        {"contact": {"profile_name": 7}},
        {"contact": "Ada"},
    ],
)
async def test_bad_patch_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, body: Any
) -> None:
    project = await create_project(resources, sandbox_url)
    created = await create_contact(client, project, "15550102030", profile_name="Ada")
    response = await client.patch(f"{BASE}/15550102030", json=body, headers=project.headers)
    assert response.status_code == 422, response.text
    got = await client.get(f"{BASE}/15550102030", headers=project.headers)
    assert got.json()["data"] == created


async def test_the_list_is_paginated_newest_first(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    for n in range(5):
        await create_contact(client, project, f"1555010000{n}")

    first = await _list(client, project.headers, per_page=2)
    assert first["meta"] == {"page": 1, "per_page": 2, "total_pages": 3, "total_count": 5}
    assert _wa_ids(first) == ["15550100004", "15550100003"]
    last = await _list(client, project.headers, per_page=2, page=3)
    assert _wa_ids(last) == ["15550100000"]
    beyond = await _list(client, project.headers, per_page=2, page=9)
    assert beyond["data"] == [] and beyond["meta"]["total_count"] == 5


async def test_the_list_filters_as_the_reference_says(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    acme = await create_customer_row(resources, project, "Acme", external_id="CUS-1")
    other = await create_customer_row(resources, project, "Other", external_id="CUS-2")
    await create_contact(client, project, "15550100001", profile_name="John Doe", customer_id=acme)
    await create_contact(client, project, "15550100002", profile_name="Johnny 100%")
    await create_contact(client, project, "447700900003", profile_name="Jane", customer_id=other)
    h = project.headers

    assert _wa_ids(await _list(client, h, **{"q[customer_id_eq]": acme})) == ["15550100001"]
    by_external = await _list(client, h, **{"q[customer_external_customer_id_eq]": "CUS-2"})
    assert _wa_ids(by_external) == ["447700900003"]
    assert _wa_ids(await _list(client, h, **{"q[customer_id_null]": "true"})) == ["15550100002"]
    with_customer = ["447700900003", "15550100001"]
    assert _wa_ids(await _list(client, h, **{"q[customer_id_not_null]": "true"})) == with_customer
    assert _wa_ids(await _list(client, h, **{"q[customer_id_null]": "false"})) == with_customer
    johns = ["15550100002", "15550100001"]
    assert _wa_ids(await _list(client, h, **{"q[profile_name_cont]": "JOHN"})) == johns
    assert _wa_ids(await _list(client, h, **{"q[profile_name_cont]": "100%"})) == ["15550100002"]
    assert _wa_ids(await _list(client, h, **{"q[profile_name_cont]": "_"})) == []
    assert _wa_ids(await _list(client, h, **{"q[wa_id_cont]": "+44 7700"})) == ["447700900003"]
    both = await _list(client, h, **{"q[wa_id_cont]": "555", "q[customer_id_null]": "true"})
    assert _wa_ids(both) == ["15550100002"] and both["meta"]["total_count"] == 1


async def test_the_list_filters_by_creation_time(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    start = utcnow()
    async with resources.db.transaction() as session:
        for days, wa_id in ((10, "15550100010"), (5, "15550100005"), (1, "15550100001")):
            pid = uuid.UUID(project.id)
            await contacts.for_inbound(session, pid, wa_id, None, start - timedelta(days=days))
    h = project.headers
    since = (start - timedelta(days=6)).isoformat()
    until = (start - timedelta(days=2)).isoformat()

    assert _wa_ids(await _list(client, h, **{"q[created_at_gteq]": since})) == [
        "15550100001",
        "15550100005",
    ]
    window = {"q[created_at_gteq]": since, "q[created_at_lteq]": until}
    assert _wa_ids(await _list(client, h, **window)) == ["15550100005"]
    naive = (start - timedelta(days=2)).replace(tzinfo=None).isoformat()
    assert len((await _list(client, h, **{"q[created_at_lteq]": naive}))["data"]) == 2


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"per_page": "101"},
        {"page": "x"},
        {"q[customer_id_eq]": "nope"},
        {"q[customer_id_null]": "maybe"},
        {"q[created_at_gteq]": "yesterday"},
        {"q[wa_id_cont]": "abc"},
        {"q[customer_id_null]": "true", "q[customer_id_not_null]": "true"},
    ],
)
async def test_bad_list_queries_are_a_clear_4xx(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, query: dict[str, str]
) -> None:
    project = await create_project(resources, sandbox_url)
    response = await client.get(BASE, params=query, headers=project.headers)
    assert response.status_code in (400, 422), response.text
    assert response.json()["message"]


async def test_inbound_contacts_are_listed_and_renamed(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    """The contact the inbound pipeline makes is the API's contact, renamed as WhatsApp says."""
    project = await create_project(resources, sandbox_url)
    pid = uuid.UUID(project.id)
    async with resources.db.transaction() as session:
        await contacts.for_inbound(session, pid, "15550102030", "Ada", utcnow())
    async with resources.db.transaction() as session:
        await contacts.for_inbound(session, pid, "15550102030", "Ada L.", utcnow())

    body = await _list(client, project.headers)
    assert [(c["wa_id"], c["profile_name"]) for c in body["data"]] == [("15550102030", "Ada L.")]
    assert body["data"][0]["customer_id"] is None and body["data"][0]["metadata"] == {}


async def test_without_an_api_key_nothing_is_shown(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    assert (await client.get(BASE)).status_code == 401
    assert (await client.get(f"{BASE}/15550102030")).status_code == 401


async def test_a_profile_name_not_known_yet_is_an_empty_string(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    """The reference's ``profile_name`` is a string, never null."""
    project = await create_project(resources, sandbox_url)
    created = await create_contact(client, project, "15550102030")
    assert created["profile_name"] == ""
    await create_contact(client, project, "15550109999", profile_name="Ada")
    body = {"contact": {"profile_name": None}}
    cleared = await client.patch(f"{BASE}/15550109999", json=body, headers=project.headers)
    assert cleared.status_code == 200 and cleared.json()["data"]["profile_name"] == ""


async def test_patch_assigns_and_unassigns_a_customer_of_the_project_only(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url, name="Mine")
    other = await create_project(resources, sandbox_url, name="Theirs")
    mine = await create_customer_row(resources, project, "Acme")
    theirs = await create_customer_row(resources, other, "Their customer")
    await create_contact(client, project, "15550102030")
    path, h = f"{BASE}/15550102030", project.headers

    assigned = await client.patch(path, json={"contact": {"customer_id": mine}}, headers=h)
    assert assigned.status_code == 200 and assigned.json()["data"]["customer_id"] == mine
    refused = await client.patch(path, json={"contact": {"customer_id": theirs}}, headers=h)
    assert refused.status_code == 422 and refused.json()["error"] == "Invalid customer"
    assert (await client.get(path, headers=h)).json()["data"]["customer_id"] == mine
    cleared = await client.patch(path, json={"contact": {"customer_id": None}}, headers=h)
    assert cleared.json()["data"]["customer_id"] is None
