"""Display name requests over real HTTP: asked of the sandbox's Graph API, reviewed by it,
its ``phone_number_name_update`` webhook applied; one active at a time; project scope."""

from __future__ import annotations

import uuid

import httpx
from names_data import ask, production_config, requests_url, status_after_review

from builders import create_project
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState


async def _phone(sandbox_url: str) -> dict[str, object]:
    url = f"{sandbox_url}/v23.0/{SANDBOX_IDENTITY.phone_number_id}"
    headers = {"Authorization": f"Bearer {SANDBOX_IDENTITY.access_token}"}
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_created_pending_review_then_approved_by_the_sandbox_webhook(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"name_review_delay_ms": 300})
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)

    created = await ask(client, project, config_id, "  Acme Support ")

    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["status"] == "pending_review" and data["requested_display_name"] == "Acme Support"
    assert data["previous_display_name"] == "Threadline Sandbox" and data["reviewed_at"] is None
    phone = await _phone(sandbox_url)
    assert phone["new_name_status"] == "PENDING_REVIEW"
    assert phone["new_display_name"] == "Acme Support"
    reviewed = await status_after_review(client, resources, project, config_id, data["id"])
    # ``applied`` follows at once when the apply job ran (test_display_names_applied.py).
    assert reviewed["status"] in ("approved", "applied") and reviewed["reviewed_at"] is not None
    assert reviewed["rejection_reason"] is None
    phone = await _phone(sandbox_url)
    assert phone["verified_name"] == "Acme Support" and phone["new_name_status"] == "APPROVED"
    listing = await client.get(requests_url(config_id), headers=project.headers)
    assert [r["id"] for r in listing.json()["data"]] == [data["id"]]


async def test_a_rejection_comes_with_its_reason_and_frees_the_config(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"name_review": "PENDING"})
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    first = (await ask(client, project, config_id, "Acme!!!")).json()["data"]

    decided = await control.post(
        "/display_name/review", json={"decision": "REJECTED", "reason": "NAME_NOT_MATCHING"}
    )

    assert decided.status_code == 200, decided.text
    reviewed = await status_after_review(client, resources, project, config_id, first["id"])
    assert reviewed["status"] == "declined" and reviewed["rejection_reason"] == "NAME_NOT_MATCHING"
    assert sandbox.verified_name == "Threadline Sandbox"
    again = await ask(client, project, config_id, "Acme")
    assert again.status_code == 201 and again.json()["data"]["status"] == "pending_review"
    listing = (await client.get(requests_url(config_id), headers=project.headers)).json()
    assert [r["id"] for r in listing["data"]] == [again.json()["data"]["id"], first["id"]]


async def test_a_deferral_is_recorded(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"name_review": "DEFERRED", "name_review_delay_ms": 100})
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    created = (await ask(client, project, config_id, "Acme Later")).json()["data"]
    reviewed = await status_after_review(client, resources, project, config_id, created["id"])
    assert reviewed["status"] == "deferred"


async def test_a_second_active_request_is_a_422_naming_the_active_one(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"name_review": "PENDING"})
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    first = (await ask(client, project, config_id, "Acme One")).json()["data"]

    second = await ask(client, project, config_id, "Acme Two")

    assert second.status_code == 422, second.text
    assert first["id"] in second.json()["message"] and "pending_review" in second.json()["message"]
    listing = (await client.get(requests_url(config_id), headers=project.headers)).json()
    assert listing["meta"]["total_count"] == 1
    assert sandbox.name_request is not None and sandbox.name_request.name == "Acme One"


async def test_a_sandbox_config_is_a_422_and_meta_is_not_asked(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    configs = await client.get("/api/v1/whatsapp_configs", headers=project.headers)
    (sandbox_config,) = configs.json()["data"]

    refused = await ask(client, project, sandbox_config["id"], "Acme")

    assert refused.status_code == 422, refused.text
    assert "production" in refused.json()["message"]
    assert sandbox.name_request is None
    listing = await client.get(requests_url(sandbox_config["id"]), headers=project.headers)
    assert listing.json()["data"] == []


async def test_meta_refusing_is_recorded_failed_with_its_error(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url, token="not-the-token")

    created = await ask(client, project, config_id, "Acme")

    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["status"] == "failed" and data["meta_error_code"] == 190
    assert data["meta_error_type"] and data["meta_error_message"]
    assert data["previous_display_name"] is None and sandbox.name_request is None
    again = await ask(client, project, config_id, "Acme")
    assert again.status_code == 201, "a failed request does not block the next"


async def test_blank_names_are_a_422_creating_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config_id = await production_config(resources, project, sandbox_url)
    for body in ({}, {"display_name_request": {"new_display_name": "  "}}):
        refused = await client.post(requests_url(config_id), headers=project.headers, json=body)
        assert refused.status_code == 422, refused.text
    listing = await client.get(requests_url(config_id), headers=project.headers)
    assert listing.json()["data"] == [] and sandbox.name_request is None


async def test_another_projects_config_and_request_are_404(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    control: httpx.AsyncClient,
) -> None:
    await control.post("/config", json={"name_review": "PENDING"})
    owner = await create_project(resources, sandbox_url, name="Owner")
    other = await create_project(resources, sandbox_url, name="Other")
    config_id = await production_config(resources, owner, sandbox_url)
    request_id = (await ask(client, owner, config_id, "Acme")).json()["data"]["id"]
    own_configs = await client.get("/api/v1/whatsapp_configs", headers=other.headers)
    others_config = own_configs.json()["data"][0]["id"]

    answers = [
        await client.get(requests_url(config_id), headers=other.headers),
        await client.get(f"{requests_url(config_id)}/{request_id}", headers=other.headers),
        await ask(client, other, config_id, "Stolen"),
        await client.get(f"{requests_url(others_config)}/{request_id}", headers=other.headers),
        await client.get(f"{requests_url(config_id)}/{uuid.uuid4()}", headers=owner.headers),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert sandbox.name_request is not None and sandbox.name_request.name == "Acme"
