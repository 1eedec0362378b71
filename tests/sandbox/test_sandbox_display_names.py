"""The sandbox's display name review: the request as Meta takes it (query, form or JSON),
the phone number's name fields, a decision at once, after a delay or by the control plane,
each announced by a signed ``phone_number_name_update`` webhook."""

from __future__ import annotations

import httpx
import pytest
from sandbox_receiver import Receiver

from threadline.sandbox import SandboxState
from threadline.sandbox.webhooks import sign

PHONE = "/v23.0/100000000000001"


@pytest.mark.parametrize(
    "how",
    [
        {"params": {"new_display_name": "Acme"}},
        {"data": {"new_display_name": "Acme"}},
        {"json": {"new_display_name": "Acme"}},
    ],
)
async def test_the_name_is_taken_from_query_form_or_json(
    client: httpx.AsyncClient, state: SandboxState, how: dict[str, object]
) -> None:
    state.settings.name_review = "PENDING"

    answer = await client.post(PHONE, **how)  # type: ignore[arg-type]

    assert answer.status_code == 200 and answer.json() == {"success": True}
    shown = (await client.get(PHONE)).json()
    assert (shown["new_display_name"], shown["new_name_status"]) == ("Acme", "PENDING_REVIEW")
    assert shown["verified_name"] == "Threadline Sandbox" and shown["name_status"] == "APPROVED"


async def test_a_missing_name_is_meta_error_100(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    answer = await client.post(PHONE, json={})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
    assert state.name_request is None and "new_display_name" not in (await client.get(PHONE)).json()


async def test_an_approval_at_once_renames_the_number_with_a_signed_webhook(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post(PHONE, params={"new_display_name": "Acme"})

    (received,) = await hooked.wait_for(1)

    assert received.headers["x-hub-signature-256"] == sign("sandbox-app-secret", received.body)
    change = received.json()["entry"][0]["changes"][0]
    assert change["field"] == "phone_number_name_update"
    assert change["value"] == {
        "display_phone_number": "15550000001",
        "decision": "APPROVED",
        "requested_verified_name": "Acme",
        "rejection_reason": "NONE",
    }
    shown = (await client.get(PHONE)).json()
    assert (shown["verified_name"], shown["new_name_status"]) == ("Acme", "APPROVED")


async def test_a_delayed_rejection_keeps_the_old_name(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    settings = {"name_review": "REJECTED", "name_review_delay_ms": 50}
    await client.post("/_sandbox/config", json=settings)
    await client.post(PHONE, json={"new_display_name": "Acme"})
    assert (await client.get(PHONE)).json()["new_name_status"] == "PENDING_REVIEW"

    (received,) = await hooked.wait_for(1)

    value = received.value()
    assert (value["decision"], value["rejection_reason"]) == ("REJECTED", "DISPLAY_NAME_GUIDELINES")
    shown = (await client.get(PHONE)).json()
    assert (shown["verified_name"], shown["new_name_status"]) == ("Threadline Sandbox", "DECLINED")


async def test_the_control_plane_decides_the_pending_name_once(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post("/_sandbox/config", json={"name_review": "PENDING"})
    await client.post(PHONE, json={"new_display_name": "Acme"})

    review = {"decision": "DEFERRED"}
    decided = await client.post("/_sandbox/display_name/review", json=review)
    again = await client.post("/_sandbox/display_name/review", json=review)

    assert decided.status_code == 200 and decided.json()["new_name_status"] == "DEFERRED"
    assert again.status_code == 400 and again.json()["error"]["code"] == 100
    (received,) = await hooked.wait_for(1)
    assert received.value()["decision"] == "DEFERRED"
