"""A config's health, asked of a real Graph API over HTTP: the sandbox, and a stub of Meta."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from http_stub import HttpStub
from sqlalchemy import update

from builders import TestProject, create_customer, create_project, create_whatsapp_config
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig
from threadline.sandbox.state import SandboxState

PHONE, WABA = "106540352242922", "102290129340398"


def _meta_error(code: int, message: str, kind: str, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbC"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


BAD_TOKEN = _meta_error(
    190, "Invalid OAuth access token - Cannot parse access token", "OAuthException"
)
UNKNOWN_OBJECT = _meta_error(
    100,
    f"Unsupported get request. Object with ID '{WABA}' does not exist",
    "GraphMethodException",
    33,
)


async def _health(
    client: httpx.AsyncClient, project: TestProject, config_id: str
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/whatsapp_configs/{config_id}/health", headers=project.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _config(client: httpx.AsyncClient, project: TestProject, **fields: Any) -> dict[str, Any]:
    customer = await create_customer(client, project)
    return await create_whatsapp_config(client, project, customer["id"], **fields)


async def test_the_sandbox_config_is_healthy(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, sandbox: SandboxState
) -> None:
    project = await create_project(resources, sandbox_url)
    config = await _config(client, project, kind="sandbox")
    report = await _health(client, project, config["id"])
    assert report["status"] == "healthy", report
    assert "error" not in report
    checks = report["checks"]
    assert all(check["passed"] for check in checks.values()), checks
    phone = checks["phone_number_access"]["details"]
    assert phone["id"] == SANDBOX_IDENTITY.phone_number_id
    assert phone["display_phone_number"] == SANDBOX_IDENTITY.display_phone_number
    assert checks["business_account_access"]["details"]["id"] == SANDBOX_IDENTITY.waba_id
    assert checks["webhook_subscription"]["details"]["subscribed"] is True
    assert report["timestamp"]


async def test_a_wrong_token_is_meta_error_190(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, sandbox: SandboxState
) -> None:
    project = await create_project(resources, sandbox_url)
    config = await _config(
        client,
        project,
        phone_number_id=SANDBOX_IDENTITY.phone_number_id,
        business_account_id=SANDBOX_IDENTITY.waba_id,
        access_token="EAAG-not-the-sandbox-token",
        graph_url=sandbox_url,
    )
    report = await _health(client, project, config["id"])
    assert report["status"] == "unhealthy", report
    for name in ("phone_number_access", "business_account_access", "webhook_subscription"):
        check = report["checks"][name]
        assert check["passed"] is False
        assert check["graph_error"]["code"] == 190, check
        assert "error 190" in check["error"]
    assert "phone_number_access" in report["error"]
    assert "EAAG-not-the-sandbox-token" not in str(report)


async def test_a_real_number_before_its_webhook_handshake_is_degraded(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, sandbox: SandboxState
) -> None:
    project = await create_project(resources, sandbox_url)
    config = await _config(
        client,
        project,
        phone_number_id=SANDBOX_IDENTITY.phone_number_id,
        business_account_id=SANDBOX_IDENTITY.waba_id,
        access_token=SANDBOX_IDENTITY.access_token,
        graph_url=sandbox_url,
    )
    report = await _health(client, project, config["id"])
    assert report["status"] == "degraded", report
    verified = report["checks"]["webhook_verified"]
    assert verified["passed"] is False
    assert config["webhook_url"] in verified["error"]
    async with resources.db.transaction() as session:
        await session.execute(
            update(WhatsappConfig)
            .where(WhatsappConfig.id == uuid.UUID(config["id"]))
            .values(webhook_verified_at=utcnow())
        )
    report = await _health(client, project, config["id"])
    assert report["status"] == "healthy", report
    assert report["checks"]["webhook_verified"]["details"]["verified_at"]


async def test_meta_errors_from_a_stub_graph_api(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    config = await _config(
        client,
        project,
        phone_number_id=PHONE,
        business_account_id=WABA,
        access_token="EAAG-expired",
        graph_url=http_stub.url("/graph"),
    )
    http_stub.replies(f"/graph/v23.0/{PHONE}", (401, BAD_TOKEN))
    http_stub.replies(f"/graph/v23.0/{WABA}", (400, UNKNOWN_OBJECT))
    http_stub.replies(f"/graph/v23.0/{WABA}/subscribed_apps", (400, UNKNOWN_OBJECT))
    report = await _health(client, project, config["id"])
    assert report["status"] == "unhealthy", report
    phone, waba = (
        report["checks"]["phone_number_access"],
        report["checks"]["business_account_access"],
    )
    assert phone["graph_error"] == {
        "code": 190,
        "type": "OAuthException",
        "message": BAD_TOKEN["error"]["message"],
        "http_status": 401,
        "fbtrace_id": "AbC",
    }
    assert waba["graph_error"]["code"] == 100 and waba["graph_error"]["error_subcode"] == 33
    assert "does not exist" in waba["error"]
    [asked] = http_stub.received(f"/graph/v23.0/{PHONE}")
    assert asked.headers["authorization"] == "Bearer EAAG-expired"
    assert "health_status" in asked.query


async def test_what_meta_says_of_the_numbers_messaging(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, http_stub: HttpStub
) -> None:
    project = await create_project(resources, sandbox_url)
    config = await _config(
        client,
        project,
        phone_number_id=PHONE,
        business_account_id=WABA,
        graph_url=http_stub.url(""),
    )
    async with resources.db.transaction() as session:
        await session.execute(
            update(WhatsappConfig)
            .where(WhatsappConfig.id == uuid.UUID(config["id"]))
            .values(webhook_verified_at=utcnow())
        )
    app = {"whatsapp_business_api_data": {"id": "77", "name": "My app", "link": "https://x"}}
    http_stub.replies(f"/v23.0/{WABA}", (200, {"id": WABA, "name": "Acme"}))
    http_stub.replies(f"/v23.0/{WABA}/subscribed_apps", (200, {"data": [app]}))
    expected = {"AVAILABLE": "healthy", "LIMITED": "degraded", "BLOCKED": "unhealthy"}
    for can_send, status in expected.items():
        entities = [{"entity_type": "PHONE_NUMBER", "id": PHONE, "can_send_message": can_send}]
        number = {"id": PHONE, "verified_name": "Acme", "quality_rating": "GREEN"}
        number["health_status"] = {"can_send_message": can_send, "entities": entities}
        http_stub.replies(f"/v23.0/{PHONE}", (200, number))
        report = await _health(client, project, config["id"])
        assert report["status"] == status, report
        messaging = report["checks"]["messaging_health"]
        assert messaging["overall_status"] == can_send
        assert messaging["details"]["entities"] == entities
    assert report["checks"]["webhook_subscription"]["details"]["app_id"] == "77"
    http_stub.replies(f"/v23.0/{WABA}/subscribed_apps", (200, {"data": []}))
    http_stub.replies(f"/v23.0/{PHONE}", (200, {"id": PHONE}))
    report = await _health(client, project, config["id"])
    assert report["status"] == "degraded", report
    assert "subscribed_apps" in report["checks"]["webhook_subscription"]["error"]


async def test_an_unreachable_graph_api_is_an_error(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    config = await _config(client, project, graph_url="http://127.0.0.1:9")
    report = await _health(client, project, config["id"])
    assert report["status"] == "error", report
    assert "could not be reached" in report["error"]
    assert report["checks"]["phone_number_access"]["passed"] is False


async def test_bad_and_foreign_ids(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    intruder = await create_project(resources, sandbox_url, name="Intruder")
    config = await _config(client, project, kind="sandbox")
    for config_id in (config["id"], str(uuid.uuid4())):
        response = await client.get(
            f"/api/v1/whatsapp_configs/{config_id}/health", headers=intruder.headers
        )
        assert response.status_code == 404, response.text
    malformed = await client.get("/api/v1/whatsapp_configs/x/health", headers=project.headers)
    assert malformed.status_code == 422
