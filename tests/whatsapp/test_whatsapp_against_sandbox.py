"""WhatsAppClient end to end against the in-process sandbox (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from threadline.sandbox import SandboxState
from threadline.whatsapp import (
    PermanentGraphError,
    TransientGraphError,
    WhatsAppClient,
    button_message,
    list_message,
    template_message,
    text_message,
)

TO = "+1 555 010 0001"
WABA = "200000000000001"


@pytest.mark.parametrize(
    "payload",
    [
        text_message(TO, "Hello", preview_url=True),
        button_message(TO, "Pick", [("y", "Yes"), ("n", "No"), ("m", "Maybe")], footer_text="F"),
        list_message(
            TO,
            "Menu",
            "Open",
            [
                {"title": "A", "rows": [{"id": f"a{i}", "title": f"A{i}"} for i in range(5)]},
                {"title": "B", "rows": [{"id": f"b{i}", "title": f"B{i}"} for i in range(5)]},
            ],
            header_text="Today",
        ),
        template_message(TO, "hello_world", "en_US"),
        template_message(TO, "order_update", "en_US", ["Ana", "A-1"]),
        template_message(TO, "appointment_reminder", "es", ["lunes"]),
    ],
)
async def test_every_builder_is_accepted_and_recorded(
    wa: WhatsAppClient, sandbox: SandboxState, payload: dict[str, Any]
) -> None:
    result = await wa.send_message(payload)

    [entry] = sandbox.outbox
    assert (entry.id, entry.wa_id, entry.payload) == (result.message_id, "15550100001", payload)
    assert result.wa_id == "15550100001" and result.input == TO
    assert result.message_status == ("accepted" if payload["type"] == "template" else None)


async def test_validation_failure_is_permanent_with_details(wa: WhatsAppClient) -> None:
    payload = button_message(TO, "Pick", [("a", "A")])
    payload["interactive"]["action"]["buttons"] *= 4

    with pytest.raises(PermanentGraphError) as caught:
        await wa.send_message(payload)

    error = caught.value
    assert (error.http_status, error.code) == (400, 131009)
    assert error.details is not None and "between 1 and 3" in error.details
    assert error.fbtrace_id


async def test_unknown_template_is_permanent_404(wa: WhatsAppClient) -> None:
    with pytest.raises(PermanentGraphError) as caught:
        await wa.send_message(template_message(TO, "nope", "en_US"))

    assert (caught.value.http_status, caught.value.code) == (404, 132001)


async def test_bad_token_is_permanent_190(
    sandbox_http: httpx.AsyncClient, sandbox: SandboxState
) -> None:
    client = WhatsAppClient(
        sandbox_http,
        base_url="http://sandbox",
        phone_number_id=sandbox.config.phone_number_id,
        access_token="stolen",
    )

    with pytest.raises(PermanentGraphError) as caught:
        await client.send_message(text_message(TO, "x"))

    assert (caught.value.http_status, caught.value.code, caught.value.details) == (401, 190, None)


async def test_injected_outage_is_transient_then_recovers(
    wa: WhatsAppClient, sandbox_http: httpx.AsyncClient, sandbox: SandboxState
) -> None:
    rule = {"code": 131000, "http_status": 500, "message": "Something went wrong"}
    await sandbox_http.post("/_sandbox/failures", json=rule)

    with pytest.raises(TransientGraphError) as caught:
        await wa.send_message(text_message(TO, "x"))
    result = await wa.send_message(text_message(TO, "x"))

    assert (caught.value.http_status, caught.value.code) == (500, 131000)
    assert [entry.id for entry in sandbox.outbox] == [result.message_id]


async def test_pair_rate_limit_is_transient(
    wa: WhatsAppClient, sandbox_http: httpx.AsyncClient
) -> None:
    await sandbox_http.post("/_sandbox/config", json={"pair_rate_limit": True})
    await wa.send_message(text_message(TO, "first"))

    with pytest.raises(TransientGraphError) as caught:
        await wa.send_message(text_message(TO, "second"))

    assert caught.value.code == 131056


async def test_sender_cut_off_mid_call_leaves_an_accepted_message(
    wa: WhatsAppClient, sandbox_http: httpx.AsyncClient, sandbox: SandboxState
) -> None:
    await sandbox_http.post("/_sandbox/config", json={"latency_ms": 60_000})
    sending = asyncio.create_task(wa.send_message(text_message(TO, "x")))
    async with asyncio.timeout(10):  # recorded; the response is held back for a minute
        while not sandbox.outbox:
            await asyncio.sleep(0.01)

    sending.cancel()

    with pytest.raises(asyncio.CancelledError):
        await sending
    assert [entry.type for entry in sandbox.outbox] == ["text"]


async def test_mark_read_is_recorded(wa: WhatsAppClient, sandbox: SandboxState) -> None:
    await wa.mark_read("wamid.INBOUND")

    assert [read["message_id"] for read in sandbox.reads] == ["wamid.INBOUND"]


async def test_template_lifecycle_with_pagination(wa: WhatsAppClient) -> None:
    for i in range(30):
        body = {"type": "BODY", "text": f"Notice number {i}."}
        created = await wa.create_template(
            WABA,
            {
                "name": f"notice_{i}",
                "language": "en_US",
                "category": "UTILITY",
                "components": [body],
            },
        )
        assert created["status"] == "APPROVED"

    templates = await wa.list_templates(WABA)
    await wa.delete_template(WABA, "notice_0")
    after_delete = await wa.list_templates(WABA)

    assert len(templates) == 34 and len({t["id"] for t in templates}) == 34
    assert len(after_delete) == 33
    assert "notice_0" not in {t["name"] for t in after_delete}
    await wa.send_message(template_message(TO, "notice_29", "en_US"))


async def test_invalid_template_create_is_permanent(wa: WhatsAppClient) -> None:
    with pytest.raises(PermanentGraphError) as caught:
        await wa.create_template(WABA, {"name": "Bad Name", "language": "en_US"})

    assert caught.value.code == 100
