"""Status webhooks after accepted sends, forced statuses, and the 24-hour window."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sandbox_receiver import Receiver

MESSAGES = "/v23.0/100000000000001/messages"
PHONE = "15551230001"


def text(body: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": body},
            **extra}  # fmt: skip


def template() -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": PHONE,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }


async def send(client: httpx.AsyncClient, payload: dict[str, Any]) -> str:
    response = await client.post(MESSAGES, json=payload)
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def open_window(client: httpx.AsyncClient) -> None:
    body = {"from": PHONE, "type": "text", "text": {"body": "hi"}}
    assert (await client.post("/_sandbox/inbound", json=body)).status_code == 200


async def statuses(
    receiver: Receiver, count: int, status: str | None = None
) -> list[dict[str, Any]]:
    """The status items received (only ``status`` ones, if given), once ``count`` arrived."""
    async with asyncio.timeout(5):
        while True:
            found = [s for r in receiver.received for s in r.value().get("statuses", [])]
            found = [s for s in found if status in (None, s["status"])]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)


async def test_a_send_is_sent_then_delivered_after_the_delays(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post("/_sandbox/config", json={"status_delays_ms": {"sent": 0, "delivered": 150}})
    await open_window(client)
    await hooked.wait_for(1)
    started = time.monotonic()
    wamid = await send(client, text(biz_opaque_callback_data="exec-1:step-2"))

    sent, delivered = await statuses(hooked, 2)

    assert time.monotonic() - started >= 0.15
    assert [sent["status"], delivered["status"]] == ["sent", "delivered"]
    for item in (sent, delivered):
        assert item["id"] == wamid
        assert item["recipient_id"] == PHONE
        assert item["timestamp"].isdigit()
        assert item["biz_opaque_callback_data"] == "exec-1:step-2"
        assert item["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
        assert item["conversation"]["origin"] == {"type": "service"}
    assert sent["conversation"]["expiration_timestamp"].isdigit()
    assert "expiration_timestamp" not in delivered["conversation"]
    await asyncio.sleep(0.1)
    assert len(await statuses(hooked, 2)) == 2  # read waits for the phone


async def test_read_comes_when_the_phone_reads_the_thread(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await open_window(client)
    first = await send(client, text("one"))
    await statuses(hooked, 2)  # sent and delivered
    second = await send(client, text("two"))

    response = await client.post("/_sandbox/thread/read", json={"phone": "+1 555 123 0001"})

    assert response.json() == {"read": [first, second]}
    reads = await statuses(hooked, 2, status="read")
    assert [s["id"] for s in reads] == [first, second]
    again = await client.post("/_sandbox/thread/read", json={"phone": PHONE})
    assert again.json() == {"read": []}
    thread = (await client.get("/_sandbox/thread", params={"phone": PHONE})).json()
    assert [m["status"] for m in thread["messages"] if m["direction"] == "outbound"] == [
        "read",
        "read",
    ]


async def test_a_read_delay_reads_without_the_phone(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    delays = {"sent": 0, "delivered": 10, "read": 30}
    await client.post("/_sandbox/config", json={"status_delays_ms": delays})
    await open_window(client)
    await send(client, text())

    found = await statuses(hooked, 3)

    assert [s["status"] for s in found] == ["sent", "delivered", "read"]


async def test_skip_delivered_and_reactions(client: httpx.AsyncClient, hooked: Receiver) -> None:
    delays = {"sent": 0, "delivered": 0, "read": 20}
    await client.post("/_sandbox/config", json={"status_delays_ms": delays, "skip_delivered": True})
    await open_window(client)
    await send(client, text())
    reaction = {"message_id": "wamid.x", "emoji": "👍"}
    await send(client, {"messaging_product": "whatsapp", "to": PHONE, "type": "reaction",
                        "reaction": reaction})  # fmt: skip

    await statuses(hooked, 3)
    await asyncio.sleep(0.1)

    found = [(s["status"]) for s in await statuses(hooked, 3)]
    assert sorted(found) == ["read", "sent", "sent"]


async def test_a_template_is_billed_by_its_category(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await send(client, template())  # no window needed

    (sent, _delivered) = await statuses(hooked, 2)

    assert sent["status"] == "sent"
    assert sent["pricing"]["category"] == "utility"
    assert sent["pricing"]["billable"] is True and sent["pricing"]["type"] == "regular"


async def test_a_forced_failure_carries_any_code(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post("/_sandbox/config", json={"status_delays_ms": {"sent": 0, "delivered": None}})
    await open_window(client)
    wamid = await send(client, text(biz_opaque_callback_data="cb"))
    await statuses(hooked, 1)

    body = {"message_id": wamid, "status": "failed", "code": 131026, "details": "Not on WhatsApp"}
    response = await client.post("/_sandbox/status", json=body)

    assert response.status_code == 200, response.text
    _, failed = await statuses(hooked, 2)
    assert failed["status"] == "failed" and failed["id"] == wamid
    assert failed["biz_opaque_callback_data"] == "cb"
    (error,) = failed["errors"]
    assert error["code"] == 131026
    assert error["title"] == error["message"] == "Message undeliverable"
    assert error["error_data"] == {"details": "Not on WhatsApp"}
    assert "pricing" not in failed
    assert response.json()["status"] == failed


async def test_any_status_can_be_forced(client: httpx.AsyncClient, hooked: Receiver) -> None:
    quiet = {"sent": None, "delivered": None, "read": None}
    await client.post("/_sandbox/config", json={"status_delays_ms": quiet})
    await open_window(client)
    wamid = await send(client, text())

    await client.post("/_sandbox/status", json={"message_id": wamid, "status": "read"})
    await client.post("/_sandbox/status", json={"message_id": wamid, "status": "delivered"})

    found = await statuses(hooked, 2)
    assert [s["status"] for s in found] == ["read", "delivered"]  # forced even if backwards


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"message_id": "wamid.unknown", "status": "read"}, 404),
        ({"message_id": "x", "status": "seen"}, 422),
        ({"status": "read"}, 422),
    ],
)
async def test_forcing_a_bad_status_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    response = await client.post("/_sandbox/status", json=body)

    assert response.status_code == status


async def test_free_form_outside_the_window_fails_with_131047_after_acceptance(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await open_window(client)
    advanced = await client.post("/_sandbox/clock", json={"advance_seconds": 25 * 3600})
    assert advanced.json()["offset_seconds"] == 25 * 3600

    wamid = await send(client, text("too late"))
    template_wamid = await send(client, template())

    found = await statuses(hooked, 3)
    failed = [s for s in found if s["id"] == wamid]
    assert [s["status"] for s in failed] == ["failed"]
    assert failed[0]["errors"][0]["code"] == 131047
    assert failed[0]["errors"][0]["title"] == "Re-engagement message"
    assert {s["status"] for s in found if s["id"] == template_wamid} >= {"sent"}
    outbox = (await client.get("/_sandbox/outbox", params={"to": PHONE})).json()
    assert [e["id"] for e in outbox["data"]] == [wamid, template_wamid]
    thread = (await client.get("/_sandbox/thread", params={"phone": PHONE})).json()
    assert [m["id"] for m in thread["messages"] if m["direction"] == "outbound"] == [template_wamid]
    assert thread["window_open"] is False


async def test_a_new_message_reopens_the_window(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    await client.post("/_sandbox/clock", json={"advance_seconds": 25 * 3600})
    await open_window(client)

    await send(client, text())

    assert [s["status"] for s in await statuses(hooked, 2)] == ["sent", "delivered"]


async def test_window_modes_sync_and_off(client: httpx.AsyncClient, hooked: Receiver) -> None:
    await client.post("/_sandbox/config", json={"window_mode": "sync"})
    refused = await client.post(MESSAGES, json=text())
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 131047
    assert (await client.get("/_sandbox/outbox")).json()["count"] == 0

    await client.post("/_sandbox/config", json={"window_mode": "off"})
    await send(client, text())
    assert [s["status"] for s in await statuses(hooked, 2)] == ["sent", "delivered"]


async def test_statuses_apply_lazily_without_a_webhook_url(client: httpx.AsyncClient) -> None:
    await open_window(client)
    await send(client, text())
    await asyncio.sleep(0.08)

    thread = (await client.get("/_sandbox/thread", params={"phone": PHONE})).json()

    assert thread["messages"][-1]["status"] == "delivered"
