"""Broadcasts over the API: drafts, recipients checked as a batch, one send, its counts."""

from __future__ import annotations

from typing import Any

import httpx

from builders import (
    TestProject,
    approved_template,
    broadcast_recipients,
    create_broadcast,
    create_project,
    default_config_id,
    run_jobs,
)
from threadline.kit.resources import Resources
from threadline.models import WhatsappBroadcastRecipient
from threadline.sandbox.state import SandboxState

API = "/api/v1/whatsapp_broadcasts"


async def _get(client: httpx.AsyncClient, project: TestProject, broadcast_id: str) -> Any:
    response = await client.get(f"{API}/{broadcast_id}", headers=project.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _add(
    client: httpx.AsyncClient, project: TestProject, broadcast_id: str, rows: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/{broadcast_id}/recipients", headers=project.headers, json={"recipients": rows}
    )


async def test_a_small_broadcast_is_sent_once_to_every_recipient(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_broadcast(client, resources, project, recipients=12, rate_per_second=0)
    assert draft["status"] == "draft" and draft["total_recipients"] == 0

    again = await _add(client, project, draft["id"], broadcast_recipients(3))  # duplicates
    assert again.json()["data"] == {"added": 0, "duplicates": 3, "errors": []}
    sent = await client.post(f"{API}/{draft['id']}/send", headers=project.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["data"]["status"] == "sending"
    twice = await client.post(f"{API}/{draft['id']}/send", headers=project.headers)
    assert twice.status_code == 422 and twice.json()["error"] == "Broadcast is already sending"
    await run_jobs(resources)

    done = await _get(client, project, draft["id"])
    assert done["status"] == "completed" and done["completed_at"] is not None
    assert done["stats"] == {
        "total": 12, "sent": 12, "failed": 0, "delivered": 0, "read": 0, "responded": 0,
        "pending": 0,
    }  # fmt: skip
    numbers = sorted(entry.wa_id for entry in sandbox.outbox)
    assert numbers == [str(15551000000 + i) for i in range(12)]
    first = sandbox.outbox[0].payload["template"]
    assert first["name"] == "order_update"
    listed = await client.get(f"{API}/{draft['id']}/recipients?per_page=5", headers=project.headers)
    page = listed.json()
    assert page["meta"]["total_count"] == 12 and len(page["data"]) == 5
    assert page["data"][0]["phone_number"] == "15551000000"
    assert page["data"][0]["status"] == "sent" and page["data"][0]["sent_at"] is not None


async def test_every_problem_of_a_batch_is_listed_and_nothing_is_added(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_broadcast(client, resources, project)
    rows = [
        {"phone_number": "+14155550123", "template_parameters": ["Ana", "A-1"]},
        {"phone_number": "not-a-number", "template_parameters": ["Bo", "B-2"]},
        {"phone_number": "+14155550124", "template_parameters": ["Cy"]},
        {"template_parameters": ["Di", "D-4"]},
        {"phone_number": "+14155550125", "template_parameters": {"first_name": "Ed"}},
    ]

    refused = await _add(client, project, draft["id"], rows)

    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    by_row = {int(e.split(":")[0].removeprefix("Recipient ")): e for e in reversed(errors)}
    assert sorted(by_row) == [1, 2, 3, 4], errors
    assert "invalid phone number format" in by_row[1]
    assert "requires 2 parameter(s), but 1 were provided" in by_row[2]
    assert "phone_number or whatsapp_contact_id is required" in by_row[3]
    assert "template parameters invalid" in by_row[4]
    assert (await _get(client, project, draft["id"]))["total_recipients"] == 0
    from builders import count_rows

    assert await count_rows(resources, WhatsappBroadcastRecipient) == 0
    empty = await _add(client, project, draft["id"], [])
    assert empty.status_code == 422 and empty.json()["error"] == "Recipients array is required"
    many = await _add(client, project, draft["id"], broadcast_recipients(1001))
    assert many.json()["error"] == "Cannot add more than 1000 recipients per request"
    nothing = await client.post(f"{API}/{draft['id']}/send", headers=project.headers)
    assert nothing.status_code == 422 and nothing.json()["error"] == "Broadcast has no recipients"


async def test_drafts_need_an_approved_template_of_the_config_and_stay_in_their_project(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    config_id = await default_config_id(resources, project)
    template_id = await approved_template(resources, other)
    fields = {"name": "X", "whatsapp_config_id": config_id, "whatsapp_template_id": template_id}

    refused = await client.post(API, headers=project.headers, json={"whatsapp_broadcast": fields})

    assert refused.status_code == 422 and refused.json()["error"] == "Template not found"
    mine = await create_broadcast(client, resources, project)
    foreign = await client.get(f"{API}/{mine['id']}", headers=other.headers)
    assert foreign.status_code == 404
    listed = await client.get(API, headers=other.headers)
    assert listed.json()["meta"]["total_count"] == 0
