"""Sends through the Meta proxy: Graph's body in, the outbox, Graph's answer and errors out."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from builders import (
    add_inbound_message,
    create_customer,
    create_project,
    create_whatsapp_config,
    inbound_text_message,
    open_conversation,
    proxy_client,
    run_jobs,
    sandbox_phone_number_id,
)
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage
from threadline.sandbox.state import SandboxState

PNID = sandbox_phone_number_id()


def _text(to: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def _template(to: str) -> dict[str, Any]:
    template = {"name": "hello_world", "language": {"code": "en_US"}}
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": template}


async def _count(resources: Resources) -> int:
    async with resources.db.session() as session:
        return int((await session.execute(select(func.count(WhatsappMessage.id)))).scalar_one())


def _graph_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"].startswith(f"(#{code}) ")
    assert error["type"] and error["fbtrace_id"]
    return error


async def test_text_and_template_sends_reach_the_sandbox_once_and_appear_in_the_conversation(
    resources: Resources, sandbox: SandboxState, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project, phone="+15550002222")
    async with proxy_client(live_url, project) as proxy:
        text = await proxy.post(f"{PNID}/messages", json=_text("+1 555 000 2222", "hi there"))
        template = await proxy.post(f"{PNID}/messages", json=_template("15550003333"))
        for answer, wa_id in ((text, "15550002222"), (template, "15550003333")):
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["messaging_product"] == "whatsapp"
            assert body["contacts"][0]["wa_id"] == wa_id
        assert template.json()["messages"][0]["message_status"] == "accepted"
        await run_jobs(resources)
        await run_jobs(resources)
        # Two conversations deliver independently: once each, in either order.
        by_type = {entry.type: entry for entry in sandbox.outbox}
        assert sorted(entry.type for entry in sandbox.outbox) == ["template", "text"]
        assert by_type["text"].payload["text"]["body"] == "hi there"
        history = await proxy.get(f"{PNID}/messages", params={"conversation_id": conversation.id})
        sent_id = text.json()["messages"][0]["id"]
        outbound = [m for m in history.json()["data"] if m["kapso"]["direction"] == "outbound"]
        assert [m["id"] for m in outbound] == [sent_id]
        assert outbound[0]["kapso"]["status"] == "sent"
        assert outbound[0]["kapso"]["whatsapp_message_id"] == by_type["text"].id
        assert outbound[0]["text"] == {"body": "hi there"} and outbound[0]["to"] == "15550002222"
    async with httpx.AsyncClient(base_url=live_url, headers=project.headers) as api:
        v1 = await api.get(f"/api/v1/whatsapp_conversations/{conversation.id}/whatsapp_messages")
    assert [m["id"] for m in v1.json()["data"]] == [sent_id]


async def test_a_read_receipt_through_the_proxy_marks_the_inbound_message_read(
    resources: Resources, sandbox: SandboxState, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    await add_inbound_message(
        resources, project, conversation, inbound_text_message("hello"), wamid="wamid.in.1"
    )
    async with proxy_client(live_url, project) as proxy:
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in.1"}
        answer = await proxy.post(f"{PNID}/messages", json=body)
        assert answer.status_code == 200 and answer.json() == {"success": True}
        await run_jobs(resources)
        read = await proxy.get(f"{PNID}/messages/wamid.in.1")
        assert read.json()["kapso"]["status"] == "read"
    assert [r.get("message_id") for r in sandbox.reads] == ["wamid.in.1"]


async def test_refusals_are_graph_shaped_and_create_nothing(
    resources: Resources, sandbox: SandboxState, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url, name="Other")
    async with httpx.AsyncClient(base_url=live_url) as api:
        customer = await create_customer(api, other)
        others_number = (await create_whatsapp_config(api, other, customer["id"]))[
            "phone_number_id"
        ]
    async with proxy_client(live_url) as anonymous:
        _graph_error(await anonymous.post(f"{PNID}/messages", json=_text("1555", "x")), 401, 190)
        bad_key = await anonymous.get(f"{PNID}/messages", headers={"X-API-Key": "tl_nope"})
        _graph_error(bad_key, 401, 190)
    async with proxy_client(live_url, project) as proxy:
        foreign = await proxy.post(f"{others_number}/messages", json=_text("15550002222", "x"))
        assert _graph_error(foreign, 404, 100)["error_subcode"] == 33
        bad = await proxy.post(f"{PNID}/messages", json={"type": "sms", "to": ""})
        message = _graph_error(bad, 400, 100)["message"]
        assert "messaging_product" in message and "to is required" in message and "type" in message
        receipt_like = {**_text("15550002222", "x"), "status": "delivered"}
        assert (
            "status may only"
            in _graph_error(await proxy.post(f"{PNID}/messages", json=receipt_like), 400, 100)[
                "message"
            ]
        )
        window = await proxy.post(f"{PNID}/messages", json=_text("15550004444", "cold"))
        _graph_error(window, 400, 131047)
        unknown = await proxy.get(f"{PNID}/no_such_edge/at/all")
        _graph_error(unknown, 404, 100)
        bad_version = await proxy.get(f"/meta/whatsapp/latest/{PNID}/messages")
        assert bad_version.status_code in (400, 404) and "error" in bad_version.json()
    assert await _count(resources) == 0 and sandbox.outbox == []
