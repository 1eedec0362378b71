"""A test phone joins a project on the shared sandbox number by sending its session's code.

Signed deliveries go through the real webhook receiver and the inbound jobs: the code
activates the session, the phone's next messages belong to that project, and sending
another project's code moves the phone there.
"""

from __future__ import annotations

from typing import Any

import httpx

from builders import TestProject, create_project, delivery, inbound_text, post_webhook, run_jobs
from threadline.kit.resources import Resources

PHONE = "15550001111"
SESSIONS = "/api/v1/sandbox_sessions"


async def _send(
    client: httpx.AsyncClient, resources: Resources, wamid: str, text: str, at: int
) -> None:
    message = inbound_text(wamid, text, sender=PHONE, at=at)
    response = await post_webhook(client, delivery(messages=[message], profile_name="Tess"))
    assert response.status_code == 200, response.text
    await run_jobs(resources)


async def _session(client: httpx.AsyncClient, project: TestProject) -> dict[str, Any]:
    body = {"whatsapp_sandbox_session": {"phone_number": f"+{PHONE}"}}
    response = await client.post(SESSIONS, json=body, headers=project.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _get(client: httpx.AsyncClient, project: TestProject, path: str) -> httpx.Response:
    return await client.get(f"/api/v1{path}", headers=project.headers)


async def _has_contact(client: httpx.AsyncClient, project: TestProject) -> bool:
    return (await _get(client, project, f"/whatsapp_contacts/{PHONE}")).status_code == 200


async def test_the_code_connects_the_phone_and_another_code_moves_it(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    first = await create_project(resources, sandbox_url, name="First")
    second = await create_project(resources, sandbox_url, name="Second")

    await _send(client, resources, "wamid.stray", "hi", at=1_760_000_000)
    assert not await _has_contact(client, first) and not await _has_contact(client, second)

    joined = await _session(client, second)
    await _send(
        client, resources, "wamid.code1", f" {joined['activation_code'].lower()} ", 1_760_000_005
    )
    shown = (await _get(client, second, f"/sandbox_sessions/{joined['id']}")).json()["data"]
    assert shown["status"] == "active" and shown["phone_number"] == f"+{PHONE}"

    await _send(client, resources, "wamid.hi2", "hello second", at=1_760_000_010)
    assert await _has_contact(client, second) and not await _has_contact(client, first)
    contact = (await _get(client, second, f"/whatsapp_contacts/{PHONE}")).json()["data"]
    assert contact["profile_name"] == "Tess"

    moved = await _session(client, first)
    await _send(client, resources, "wamid.code2", moved["activation_code"], at=1_760_000_020)
    left = (await _get(client, second, f"/sandbox_sessions/{joined['id']}")).json()["data"]
    assert left["expires_at"] is not None
    now_in = (await _get(client, first, f"/sandbox_sessions/{moved['id']}")).json()["data"]
    assert now_in["status"] == "active" and now_in["expires_at"] is None

    await _send(client, resources, "wamid.hi3", "hello first", at=1_760_000_030)
    assert await _has_contact(client, first)
