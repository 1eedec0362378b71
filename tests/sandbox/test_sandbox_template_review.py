"""The sandbox's template review: decided after a delay or by the control plane, each
decision announced by a signed ``message_template_status_update`` webhook."""

from __future__ import annotations

import asyncio

import httpx
from sandbox_receiver import Receiver

from threadline.sandbox import SandboxState
from threadline.sandbox.webhooks import sign

TEMPLATES = "/v23.0/200000000000001/message_templates"
NOTICE = {
    "name": "pickup_notice",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Your parcel is ready for pickup."}],
}


async def test_a_template_is_approved_at_once_with_its_webhook(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    created = (await client.post(TEMPLATES, json=NOTICE)).json()

    (received,) = await hooked.wait_for(1)

    assert created["status"] == "APPROVED"
    body = received.json()
    assert received.headers["x-hub-signature-256"] == sign("sandbox-app-secret", received.body)
    assert body["entry"][0]["id"] == "200000000000001"
    change = body["entry"][0]["changes"][0]
    assert change["field"] == "message_template_status_update"
    assert change["value"]["event"] == "APPROVED" and change["value"]["reason"] == "NONE"
    assert change["value"]["message_template_id"] == int(created["id"])
    assert change["value"]["message_template_name"] == "pickup_notice"


async def test_with_a_delay_it_stays_pending_then_is_decided(
    client: httpx.AsyncClient, hooked: Receiver, state: SandboxState
) -> None:
    settings = {"template_review_delay_ms": 50, "template_review": "REJECTED"}
    await client.post("/_sandbox/config", json=settings)

    created = (await client.post(TEMPLATES, json=NOTICE)).json()
    pending = state.templates[created["id"]].spec.status
    (received,) = await hooked.wait_for(1)

    assert created["status"] == "PENDING" and pending == "PENDING"
    value = received.value()
    assert (value["event"], value["reason"]) == ("REJECTED", "INVALID_FORMAT")
    listed = (await client.get(TEMPLATES, params={"name": "pickup_notice"})).json()["data"]
    assert listed[0]["status"] == "REJECTED" and listed[0]["rejected_reason"] == "INVALID_FORMAT"


async def test_the_control_plane_decides_a_pending_template(
    client: httpx.AsyncClient, hooked: Receiver, state: SandboxState
) -> None:
    await client.post("/_sandbox/config", json={"template_review": "PENDING"})
    created = (await client.post(TEMPLATES, json=NOTICE)).json()
    await asyncio.sleep(0.05)
    assert hooked.received == [] and created["status"] == "PENDING"

    review = {"event": "REJECTED", "reason": "PROMOTIONAL"}
    rejected = await client.post(f"/_sandbox/templates/{created['id']}/review", json=review)
    paused = await client.post(
        f"/_sandbox/templates/{created['id']}/review", json={"event": "PAUSED"}
    )
    unknown = await client.post("/_sandbox/templates/1/review", json={})

    assert rejected.json()["rejected_reason"] == "PROMOTIONAL"
    assert paused.json()["status"] == "PAUSED" and unknown.status_code == 400
    events = [r.value()["event"] for r in await hooked.wait_for(2)]
    assert events == ["REJECTED", "PAUSED"]


async def test_an_edit_is_validated_and_reviewed_again(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    created = (await client.post(TEMPLATES, json=NOTICE)).json()
    await client.post("/_sandbox/config", json={"template_review": "PENDING"})
    body = {"components": [{"type": "BODY", "text": "Ready at the front desk."}]}

    edited = await client.post(f"/v23.0/{created['id']}", json=body)
    refused = await client.post(f"/v23.0/{created['id']}", json={"components": []})

    assert edited.json() == {"success": True} and refused.status_code == 400
    template = state.templates[created["id"]]
    assert template.spec.status == "PENDING"
    assert template.spec.components[0]["text"] == "Ready at the front desk."
