"""A template's life over real HTTP: drafted, submitted, reviewed by the sandbox, its status
webhook applied, sent through the outbox, and synced back from the Graph API."""

from __future__ import annotations

from typing import Any

import httpx
from template_data import create_template, order_template

from builders import TestProject, create_project, run_jobs
from support import eventually
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

API = "/api/v1/whatsapp_templates"


async def _get(client: httpx.AsyncClient, project: TestProject, template_id: str) -> Any:
    response = await client.get(f"{API}/{template_id}", headers=project.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _status_after_webhook(
    client: httpx.AsyncClient, resources: Resources, project: TestProject, template_id: str
) -> str:
    """Wait until the template's status webhook was applied; its status then."""

    async def moved() -> str | None:
        await run_jobs(resources)
        status = str((await _get(client, project, template_id))["status"])
        return None if status == "submitted" else status

    return await eventually(moved, timeout=10, what="the template status webhook")


async def test_created_submitted_approved_by_the_sandbox_and_sent(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"template_review_delay_ms": 100})
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    assert draft["status"] == "draft" and draft["parameter_count"] == 2
    assert sandbox.find_template("order_ready", "en_US") is None

    submitted = await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)

    assert submitted.status_code == 200, submitted.text
    answer = submitted.json()
    remote = sandbox.find_template("order_ready", "en_US")
    assert remote is not None and answer["submission_id"] == remote.id
    assert answer["data"]["status"] == "submitted"
    assert await _status_after_webhook(client, resources, project, draft["id"]) == "approved"
    assert (await _get(client, project, draft["id"]))["metadata"]["meta_status"] == "APPROVED"

    send = {
        "phone_number": "+15550104040",
        "template_parameters": ["Ana", "B-7"],
        "header_params": "B-7",
        "button_url_params": {"0": "B-7"},
    }
    sent = await client.post(
        f"{API}/{draft['id']}/send_template", headers=project.headers, json={"template": send}
    )
    assert sent.status_code == 200, sent.text
    await run_jobs(resources)
    (entry,) = sandbox.find_outbox("+15550104040", None)
    components = entry.payload["template"]["components"]
    assert [c["type"] for c in components] == ["header", "body", "button"]
    assert [p["text"] for p in components[1]["parameters"]] == ["Ana", "B-7"]
    assert components[2]["parameters"] == [{"type": "text", "text": "B-7"}]


async def test_a_rejection_with_its_reason_comes_by_webhook_and_allows_resubmitting(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"template_review": "PENDING"})
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    submitted = (await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)).json()

    review = {"event": "REJECTED", "reason": "TAG_CONTENT_MISMATCH"}
    decided = await control.post(f"/templates/{submitted['submission_id']}/review", json=review)

    assert decided.status_code == 200, decided.text
    assert await _status_after_webhook(client, resources, project, draft["id"]) == "rejected"
    shown = await _get(client, project, draft["id"])
    assert shown["metadata"]["rejected_reason"] == "TAG_CONTENT_MISMATCH"
    refused = await client.post(
        f"{API}/{draft['id']}/send_template",
        headers=project.headers,
        json={"template": {"phone_number": "+15550104040"}},
    )
    assert refused.status_code == 422 and "approved" in refused.json()["message"]


async def test_send_parameters_are_checked_before_anything_is_queued(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)
    assert await _status_after_webhook(client, resources, project, draft["id"]) == "approved"

    bad = {"phone_number": "+15550104040", "template_parameters": ["Ana"]}
    refused = await client.post(
        f"{API}/{draft['id']}/send_template", headers=project.headers, json={"template": bad}
    )

    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert any("requires 2 parameter(s), but 1 were provided" in e for e in errors)
    assert any(e.startswith("header_params") for e in errors)
    assert any(e.startswith("button_url_params.0") for e in errors)
    await run_jobs(resources)
    assert sandbox.find_outbox("+15550104040", None) == []


async def test_sync_pulls_every_page_of_templates_and_their_statuses(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    from threadline.whatsapp.client import WhatsAppClient

    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)
    seeded = len(sandbox.templates)
    graph = WhatsAppClient(
        resources.http, base_url=sandbox_url, phone_number_id="x", access_token="sandbox-token"
    )
    waba = sandbox.config.waba_id
    # Meta lists 100 a page at most, so 150 templates take two pages.
    for n in range(150 - seeded):
        body = {"type": "BODY", "text": f"Notice number {n}."}
        spec = {"name": f"notice_{n}", "language": "en_US", "category": "UTILITY"}
        await graph.create_template(waba, {**spec, "components": [body]})

    queued = await client.post(f"{API}/sync", headers=project.headers)
    assert queued.status_code == 202, queued.text
    (run,) = queued.json()["sync_requests"]
    again = (await client.post(f"{API}/sync", headers=project.headers)).json()
    assert again["summary"] == {"total_requests": 1, "jobs_enqueued": 0, "already_in_progress": 1}
    await run_jobs(resources)

    status = await client.get(
        f"{API}/sync_status", headers=project.headers, params={"sync_request_ids": run["id"]}
    )
    (done,) = status.json()["sync_requests"]
    assert done["status"] == "succeeded", done
    assert done["templates_synced"] == 150
    assert (done["templates_created"], done["templates_updated"]) == (149, 1)
    listing = await client.get(API, headers=project.headers, params={"per_page": 1})
    assert listing.json()["meta"]["total_count"] == 150
    mine = await _get(client, project, draft["id"])
    assert mine["status"] == "approved"


async def test_a_named_template_with_a_media_header_and_a_code_is_sent_as_meta_wants(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    named = {
        "name": "spring_offer",
        "language_code": "en_US",
        "category": "MARKETING",
        "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}},
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, take {{discount}} off today.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Ana"},
                        {"param_name": "discount", "example": "10%"},
                    ]
                },
            },
            {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SPRING10"}]},
        ],
    }
    draft = await create_template(client, project, named)
    await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)
    assert await _status_after_webhook(client, resources, project, draft["id"]) == "approved"
    send = {
        "phone_number": "+15550105050",
        "template_parameters": {"first_name": "Ana", "discount": "15%"},
        "header_type": "image",
        "header_params": "https://cdn.example.com/spring.jpg",
        "button_url_params": {"0": "SPRING15"},
    }

    sent = await client.post(
        f"{API}/{draft['id']}/send_template", headers=project.headers, json={"template": send}
    )
    await run_jobs(resources)

    assert sent.status_code == 200, sent.text
    (entry,) = sandbox.find_outbox("+15550105050", None)
    header, body, button = entry.payload["template"]["components"]
    assert header["parameters"] == [
        {"type": "image", "image": {"link": "https://cdn.example.com/spring.jpg"}}
    ]
    assert body["parameters"] == [
        {"type": "text", "text": "Ana", "parameter_name": "first_name"},
        {"type": "text", "text": "15%", "parameter_name": "discount"},
    ]
    assert button["sub_type"] == "copy_code"
    assert button["parameters"] == [{"type": "coupon_code", "coupon_code": "SPRING15"}]
