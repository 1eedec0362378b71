"""Sandbox sessions through the API: create, get, list; activation seen through them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from builders import count_rows, create_project
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import SandboxSession
from threadline.projects import service as projects
from threadline.sandbox_sessions import service

BASE = "/api/v1/sandbox_sessions"


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> httpx.Response:
    body = {"whatsapp_sandbox_session": {"phone_number": "+1 555 010 2030", **fields}}
    return await client.post(BASE, json=body, headers=headers)


async def test_a_new_session_is_pending_with_a_code_message_and_link(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    agent = str(uuid.uuid4())
    response = await _create(client, project.headers, agent_id=agent)
    assert response.status_code == 201, response.text
    data = response.json()["data"]

    assert data["status"] == "pending_activation" and data["phone_number"] == "+15550102030"
    code = data["activation_code"]
    assert len(code) == service.CODE_LENGTH and set(code) <= set(service.CODE_ALPHABET)
    assert code in data["activation_message"]
    sandbox_digits = SANDBOX_IDENTITY.display_phone_number.removeprefix("+")
    assert data["activation_link"] == f"https://wa.me/{sandbox_digits}?text={code}"
    assert data["activated_at"] is None and data["agent_id"] == agent
    expires = datetime.fromisoformat(data["expires_at"])
    created = datetime.fromisoformat(data["created_at"])
    assert expires - created == service.ACTIVATION_WINDOW

    got = await client.get(f"{BASE}/{data['id']}", headers=project.headers)
    assert got.status_code == 200 and got.json()["data"] == data


async def test_each_session_gets_its_own_code(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    codes = {(await _create(client, project.headers)).json()["data"]["activation_code"]}
    for _ in range(9):
        codes.add((await _create(client, project.headers)).json()["data"]["activation_code"])
    assert len(codes) == 10


async def test_activation_shows_in_the_api(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    data = (await _create(client, project.headers)).json()["data"]
    async with resources.db.transaction() as session:
        await service.activate(
            session, code=data["activation_code"], phone_number="15550102030", now=utcnow()
        )

    got = (await client.get(f"{BASE}/{data['id']}", headers=project.headers)).json()["data"]
    assert got["status"] == "active" and got["activated_at"] is not None
    assert got["expires_at"] is None and got["updated_at"] > data["updated_at"]


async def test_the_list_is_the_projects_own_newest_first_and_paginated(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url, name="Mine")
    other = await create_project(resources, sandbox_url, name="Theirs")
    ids = [(await _create(client, project.headers)).json()["data"]["id"] for _ in range(3)]
    await _create(client, other.headers)

    first = await client.get(BASE, params={"per_page": 2}, headers=project.headers)
    assert first.status_code == 200
    assert [s["id"] for s in first.json()["data"]] == [ids[2], ids[1]]
    assert first.json()["meta"] == {"page": 1, "per_page": 2, "total_pages": 2, "total_count": 3}
    second = await client.get(BASE, params={"per_page": 2, "page": 2}, headers=project.headers)
    assert [s["id"] for s in second.json()["data"]] == [ids[0]]


async def test_another_projects_session_is_not_found(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner = await create_project(resources, sandbox_url, name="Owner")
    other = await create_project(resources, sandbox_url, name="Other")
    data = (await _create(client, owner.headers)).json()["data"]
    for session_id in (data["id"], str(uuid.uuid4())):
        response = await client.get(f"{BASE}/{session_id}", headers=other.headers)
        assert response.status_code == 404
        assert response.json()["error"] == "Sandbox session not found"
    assert (await client.get(f"{BASE}/not-a-uuid", headers=owner.headers)).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"whatsapp_sandbox_session": {}},
        {"whatsapp_sandbox_session": {"phone_number": "12"}},
        {"whatsapp_sandbox_session": {"phone_number": "call me"}},
        {"whatsapp_sandbox_session": {"phone_number": 15550102030}},
        {"whatsapp_sandbox_session": {"phone_number": "15550102030", "agent_id": "x"}},
        {"whatsapp_sandbox_session": {"phone_number": "15550102030", "code": "ABC"}},
    ],
)
async def test_bad_bodies_are_422_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, body: Any
) -> None:
    project = await create_project(resources, sandbox_url)
    response = await client.post(BASE, json=body, headers=project.headers)
    assert response.status_code == 422, response.text
    assert response.json()["message"]
    assert await count_rows(resources, SandboxSession) == 0


async def test_a_project_without_a_sandbox_number_is_told_so(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    async with resources.db.transaction() as session:
        bare = await projects.create(session, resources.cipher, name="Bare", with_sandbox=False)
    response = await _create(client, {"X-API-Key": bare.api_key})
    assert response.status_code == 422
    assert "sandbox" in response.json()["message"]
    assert await count_rows(resources, SandboxSession) == 0


async def test_without_an_api_key_nothing_is_shown(client: httpx.AsyncClient) -> None:
    assert (await client.get(BASE)).status_code == 401
    assert (await client.get(f"{BASE}/{uuid.uuid4()}")).status_code == 401


def test_codes_are_compared_without_case_or_surrounding_space() -> None:
    assert service.normalise_code("  k7qx2m \n") == "K7QX2M"
