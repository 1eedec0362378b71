"""Signed webhook deliveries: Meta's envelope and signature, retries, order, the modes, the log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import httpx
import pytest
from sandbox_receiver import Receiver

from support import free_port
from threadline.config import SANDBOX_IDENTITY
from threadline.sandbox import SandboxState


def hi(phone: str = "15551230001", body: str = "hi") -> dict[str, Any]:
    return {"from": phone, "profile_name": "Ana", "type": "text", "text": {"body": body}}


async def inject(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/_sandbox/inbound", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def settled(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """The delivery log once ``count`` deliveries exist and none is pending."""
    async with asyncio.timeout(5):
        while True:
            log = (await client.get("/_sandbox/webhooks")).json()
            if log["count"] >= count and log["pending"] == 0:
                data: list[dict[str, Any]] = log["data"]
                return data
            await asyncio.sleep(0.01)


async def test_delivery_is_metas_envelope_signed_over_the_exact_bytes(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    result = await inject(client, hi(body="olá / ✓"))

    (received,) = await hooked.wait_for(1)

    expected = hmac.new(SANDBOX_IDENTITY.app_secret.encode(), received.body, hashlib.sha256)
    assert received.headers["x-hub-signature-256"] == "sha256=" + expected.hexdigest()
    assert received.headers["content-type"] == "application/json"
    assert b"\\u00e1 / \\u2713" in received.body  # escaped unicode, like Meta
    envelope = received.json()
    assert envelope["object"] == "whatsapp_business_account"
    (entry,) = envelope["entry"]
    assert entry["id"] == SANDBOX_IDENTITY.waba_id
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    assert change["value"]["messaging_product"] == "whatsapp"
    assert change["value"]["metadata"] == {
        "display_phone_number": "15550000001",
        "phone_number_id": SANDBOX_IDENTITY.phone_number_id,
    }
    assert change["value"]["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": "15551230001"}]
    assert change["value"]["messages"] == [result["message"]]
    (logged,) = await settled(client, 1)
    assert logged["id"] == result["delivery_id"]
    assert logged["status"] == "delivered"
    assert logged["signature"] == received.headers["x-hub-signature-256"]
    assert logged["payload"] == envelope


async def test_the_app_secret_is_a_setting(client: httpx.AsyncClient, hooked: Receiver) -> None:
    await client.post("/_sandbox/config", json={"app_secret": "another-secret"})
    await inject(client, hi())

    (received,) = await hooked.wait_for(1)

    expected = hmac.new(b"another-secret", received.body, hashlib.sha256).hexdigest()
    assert received.headers["x-hub-signature-256"] == f"sha256={expected}"


async def test_a_500_is_retried_with_backoff_until_it_succeeds(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    hooked.statuses = [500, 503]
    await inject(client, hi())

    (received,) = await hooked.wait_for(1)
    (logged,) = await settled(client, 1)

    assert [a["status_code"] for a in logged["attempts"]] == [500, 503, 200]
    assert [a["attempt"] for a in logged["attempts"]] == [1, 2, 3]
    assert logged["status"] == "delivered"
    assert received.json() == logged["payload"]


async def test_a_delivery_that_keeps_failing_is_given_up_and_the_next_one_leaves(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    hooked.statuses = [500] * 4  # the first delivery's four attempts
    await inject(client, hi(body="lost"))
    await inject(client, hi(body="next"))

    (received,) = await hooked.wait_for(1)
    first, second = await settled(client, 2)

    assert first["status"] == "failed" and len(first["attempts"]) == 4
    assert second["status"] == "delivered"
    assert received.value()["messages"][0]["text"]["body"] == "next"
    failed = (await client.get("/_sandbox/webhooks", params={"status": "failed"})).json()
    assert [d["id"] for d in failed["data"]] == [first["id"]]


async def test_connection_errors_are_retried_and_logged(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/webhooks/whatsapp"
    config = {"webhook_url": dead, "webhook_retry_delays_ms": [5, 5]}
    await client.post("/_sandbox/config", json=config)
    await inject(client, hi())

    (logged,) = await settled(client, 1)

    assert logged["status"] == "failed"
    assert len(logged["attempts"]) == 3
    assert all(
        a["status_code"] is None and "ConnectError" in a["error"] for a in logged["attempts"]
    )


async def test_deliveries_leave_in_the_order_they_were_made(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    hooked.statuses = [500]  # a retry of the first must not let the second overtake it
    for n in range(20):
        await inject(client, hi(body=f"m{n}"))

    received = await hooked.wait_for(20)

    assert [r.value()["messages"][0]["text"]["body"] for r in received] == [
        f"m{n}" for n in range(20)
    ]


async def test_duplicate_mode_posts_each_delivery_several_times(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post("/_sandbox/config", json={"webhook_duplicates": 3})
    result = await inject(client, hi())

    received = await hooked.wait_for(3)
    (logged,) = await settled(client, 1)

    assert len({r.body for r in received}) == 1
    assert {r.headers["x-hub-signature-256"] for r in received} == {logged["signature"]}
    assert received[0].value()["messages"][0]["id"] == result["wamid"]
    assert sorted(a["copy"] for a in logged["attempts"]) == [1, 2, 3]


async def test_reorder_mode_shuffles_within_its_window(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    config = {"webhook_reorder_window": 8, "webhook_seed": 7, "webhook_linger_ms": 200}
    await client.post("/_sandbox/config", json=config)
    wamids = [(await inject(client, hi(body=f"m{n}")))["wamid"] for n in range(8)]

    received = await hooked.wait_for(8)

    arrived = [r.value()["messages"][0]["id"] for r in received]
    assert sorted(arrived) == sorted(wamids)
    assert arrived != wamids


async def test_batch_mode_puts_several_messages_in_one_delivery(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post("/_sandbox/config", json={"webhook_batch_size": 3, "webhook_linger_ms": 200})
    results = [
        await inject(client, hi(phone * 11, f"m{n}"))
        for n, phone in enumerate(["1", "1", "2", "2"])
    ]

    first, second = await hooked.wait_for(2)

    assert [m["id"] for m in first.value()["messages"]] == [r["wamid"] for r in results[:3]]
    assert [c["wa_id"] for c in first.value()["contacts"]] == ["11111111111", "22222222222"]
    assert [m["id"] for m in second.value()["messages"]] == [results[3]["wamid"]]
    assert results[0]["delivery_id"] == results[2]["delivery_id"] != results[3]["delivery_id"]


async def test_redeliver_sends_the_same_bytes_again(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    result = await inject(client, hi())
    (first,) = await hooked.wait_for(1)
    await settled(client, 1)

    response = await client.post(f"/_sandbox/webhooks/{result['delivery_id']}/redeliver")

    assert response.status_code == 200, response.text
    assert response.json()["redelivery_of"] == result["delivery_id"]
    _, again = await hooked.wait_for(2)
    assert again.body == first.body
    assert again.headers["x-hub-signature-256"] == first.headers["x-hub-signature-256"]
    missing = await client.post("/_sandbox/webhooks/999/redeliver")
    assert missing.status_code == 404
    assert "999" in missing.json()["detail"]


async def test_without_a_webhook_url_nothing_is_sent(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    result = await inject(client, hi())

    assert result["delivery_id"] is None
    assert (await client.get("/_sandbox/webhooks")).json() == {"data": [], "count": 0, "pending": 0}
    assert (await client.get("/_sandbox/config")).json()["webhook_url"] is None


async def test_reset_and_delete_forget_the_log(client: httpx.AsyncClient, hooked: Receiver) -> None:
    await inject(client, hi())
    await settled(client, 1)

    assert (await client.delete("/_sandbox/webhooks")).json() == {"cleared": 1}
    assert (await client.get("/_sandbox/webhooks")).json()["count"] == 0
    await client.post("/_sandbox/reset")
    assert (await client.get("/_sandbox/config")).json()["webhook_url"] is None


@pytest.mark.parametrize(
    "patch",
    [
        {"webhook_duplicates": 0},
        {"webhook_reorder_window": 0},
        {"webhook_batch_size": 1000},
        {"webhook_retry_delays_ms": "fast"},
        {"status_delays_ms": {"sent": -1}},
        {"status_delays_ms": {"seen": 1}},
        {"window_mode": "strict"},
        {"webhook_url": "localhost:8000/webhooks/whatsapp"},
    ],
)
async def test_bad_webhook_settings_are_refused(
    client: httpx.AsyncClient, patch: dict[str, Any]
) -> None:
    before = (await client.get("/_sandbox/config")).json()

    response = await client.post("/_sandbox/config", json=patch)

    assert response.status_code == 422
    assert (await client.get("/_sandbox/config")).json() == before


async def test_the_handshake_is_performed_like_metas(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    good = await client.post("/_sandbox/webhooks/verify", json={"verify_token": "receiver-token"})
    bad = await client.post("/_sandbox/webhooks/verify", json={"verify_token": "wrong"})

    assert good.json() == {"verified": True, "status_code": 200, "error": None}
    assert bad.json() == {"verified": False, "status_code": 403, "error": None}


async def test_the_handshake_needs_a_webhook_url(client: httpx.AsyncClient) -> None:
    response = await client.post("/_sandbox/webhooks/verify", json={"verify_token": "t"})

    assert response.status_code == 409
    assert "webhook_url" in response.json()["detail"]


async def test_concurrent_injections_all_arrive_once_in_the_order_they_were_made(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    results = await asyncio.gather(*(inject(client, hi(body=f"m{n}")) for n in range(60)))

    received = await hooked.wait_for(60)
    log = await settled(client, 60)

    arrived = [r.value()["messages"][0]["id"] for r in received]
    assert sorted(arrived) == sorted(r["wamid"] for r in results)
    assert len(set(arrived)) == 60
    assert arrived == [d["ids"][0] for d in log]  # the log is in creation order
