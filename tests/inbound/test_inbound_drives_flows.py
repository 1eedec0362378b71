"""Signed webhook deliveries start flows through inbound triggers and resume waiting ones."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from builders import (
    add_inbound_trigger,
    chain,
    create_active_flow,
    create_project,
    delivery,
    edge,
    get_execution,
    inbound_button_reply,
    inbound_text,
    node,
    post_webhook,
    run_jobs,
    signed,
)
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.models import (
    FlowExecution,
    InboundWebhook,
    WhatsappContact,
    WhatsappConversation,
    WhatsappMessage,
)
from threadline.sandbox.state import SandboxState

SENDER = "15550001111"
META_APP_SECRET = "the-meta-app-secret"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a Meta app secret (sandbox numbers sign with their own)."""
    return settings.model_copy(update={"meta_app_secret": META_APP_SECRET})


def menu_flow() -> dict[str, Any]:
    """start → buttons (yes / no) → a text per choice, naming the tapped button."""
    menu = node(
        "menu",
        "send_interactive",
        interactive_type="button",
        body_text="Hello {{last_user_input}}! Coffee?",
        buttons=[{"id": "yes", "title": "Yes please"}, {"id": "no", "title": "No thanks"}],
    )
    yes = node("yes_reply", "send_text", message="Brewing ({{system.last_resume.id}})")
    no = node("no_reply", "send_text", message="Maybe later")
    return {
        "nodes": [node("start", "start"), menu, yes, no],
        "edges": [
            edge("start", "menu"),
            edge("menu", "yes_reply", "yes"),
            edge("menu", "no_reply", "no"),
        ],
    }


async def _rows(resources: Resources, model: type[Any]) -> list[Any]:
    async with resources.db.session() as session:
        return list((await session.execute(select(model))).scalars())


def _sent_texts(sandbox: SandboxState) -> list[str]:
    texts = []
    for entry in sandbox.outbox:
        payload = entry.payload
        if payload["type"] == "text":
            texts.append(payload["text"]["body"])
        else:
            texts.append(payload["interactive"]["body"]["text"])
    return texts


async def test_a_signed_hi_starts_the_flow_and_a_tap_resumes_it_to_the_end(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, menu_flow())
    await add_inbound_trigger(client, project, flow_id, keywords=["hi", "hello"])

    answer = await post_webhook(client, delivery(messages=[inbound_text("wamid.HI", "hi")]))
    assert answer.status_code == 200, answer.text
    await run_jobs(resources)

    (execution,) = await _rows(resources, FlowExecution)
    assert (execution.status, execution.wait_reason) == ("waiting", "user_input")
    assert _sent_texts(sandbox) == ["Hello hi! Coffee?"]
    (contact,) = await _rows(resources, WhatsappContact)
    assert (contact.wa_id, contact.profile_name) == (SENDER, "Ada")
    (conversation,) = await _rows(resources, WhatsappConversation)
    assert execution.conversation_id == conversation.id
    assert execution.system["conversation_id"] == str(conversation.id)
    assert execution.system["contact_id"] == str(contact.id)

    tap = inbound_button_reply("wamid.TAP", "yes", "Yes please")
    assert (await post_webhook(client, delivery(messages=[tap]))).status_code == 200
    await run_jobs(resources)

    shown = await get_execution(client, project, str(execution.id))
    assert shown["status"] == "ended"
    assert _sent_texts(sandbox) == ["Hello hi! Coffee?", "Brewing (yes)"]
    async with resources.db.session() as session:
        row = await session.get(FlowExecution, execution.id)
        assert row is not None
        assert row.system["last_resume"] == {
            "reason": "user_input",
            "type": "button_reply",
            "id": "yes",
            "title": "Yes please",
        }
    messages = await _rows(resources, WhatsappMessage)
    by_direction = sorted((m.direction, m.processing_status) for m in messages)
    assert by_direction == [
        ("inbound", "processed"),
        ("inbound", "processed"),
        ("outbound", None),
        ("outbound", None),
    ]
    assert {m.conversation_id for m in messages} == {conversation.id}


async def test_a_message_matching_no_trigger_is_stored_and_starts_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, menu_flow())
    await add_inbound_trigger(client, project, flow_id, pattern=r"^order \d+$")

    await post_webhook(client, delivery(messages=[inbound_text("wamid.1", "just saying")]))
    await run_jobs(resources)
    assert await _rows(resources, FlowExecution) == []
    (message,) = await _rows(resources, WhatsappMessage)
    assert message.processing_status == "no_flow"

    await post_webhook(
        client, delivery(messages=[inbound_text("wamid.2", "order 42", at=1_760_000_100)])
    )
    await run_jobs(resources)
    assert len(await _rows(resources, FlowExecution)) == 1


async def test_the_same_delivery_five_times_concurrently_stores_one_message_and_resumes_once(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, menu_flow())
    await add_inbound_trigger(client, project, flow_id)
    await post_webhook(client, delivery(messages=[inbound_text("wamid.HI", "hi")]))
    await run_jobs(resources)

    tap = delivery(messages=[inbound_button_reply("wamid.TAP", "no", "No thanks")])
    bodies = [tap] * 5
    random.shuffle(bodies)
    answers = await asyncio.gather(*(post_webhook(client, body) for body in bodies))
    assert [a.status_code for a in answers] == [200] * 5
    assert len(await _rows(resources, InboundWebhook)) == 6  # each delivery kept as received
    await run_jobs(resources)

    inbound = [m for m in await _rows(resources, WhatsappMessage) if m.direction == "inbound"]
    assert sorted(m.wamid for m in inbound) == ["wamid.HI", "wamid.TAP"]
    assert _sent_texts(sandbox) == ["Hello hi! Coffee?", "Maybe later"]


async def test_a_missing_or_wrong_signature_is_401_and_stores_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    body = delivery(messages=[inbound_text("wamid.X", "hi")])
    raw, headers = signed(body)
    unsigned = await client.post(
        "/webhooks/whatsapp", content=raw, headers={"Content-Type": "application/json"}
    )
    wrong = await client.post(
        "/webhooks/whatsapp", content=raw, headers=signed(body, "not-the-secret")[1]
    )
    tampered = await client.post("/webhooks/whatsapp", content=raw + b" ", headers=headers)
    for answer in (unsigned, wrong, tampered):
        assert answer.status_code == 401, answer.text
        assert answer.json()["status"] == 401
    assert await _rows(resources, InboundWebhook) == []


async def test_bodies_that_are_not_meta_deliveries_are_refused_and_store_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    not_json = await client.post(
        "/webhooks/whatsapp", content=b"{nope", headers=signed(b"{nope")[1]
    )
    assert not_json.status_code == 400, not_json.text
    wrong_shape = b'{"object": "page", "entry": []}'
    shaped = await client.post(
        "/webhooks/whatsapp", content=wrong_shape, headers=signed(wrong_shape)[1]
    )
    assert shaped.status_code == 422, shaped.text
    assert "whatsapp_business_account" in shaped.json()["message"]
    huge = b" " * (3 * 1024 * 1024 + 1)
    oversized = await client.post("/webhooks/whatsapp", content=huge, headers=signed(huge)[1])
    assert oversized.status_code == 413
    assert await _rows(resources, InboundWebhook) == []


async def test_a_delivery_of_nearly_3_mb_is_accepted(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    body = delivery(messages=[inbound_text("wamid.BIG", "x" * 4096)])
    body["padding"] = "y" * (2 * 1024 * 1024)
    assert (await post_webhook(client, body)).status_code == 200


async def test_a_malformed_item_is_recorded_while_the_others_are_stored(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    bad = {"id": "wamid.BAD", "from": "not a phone", "type": "text", "timestamp": "1"}
    errors = [{"code": 131051, "title": "Message type unknown"}]
    body = delivery(messages=[bad, inbound_text("wamid.OK", "fine")], errors=errors)
    assert (await post_webhook(client, body)).status_code == 200
    await run_jobs(resources)
    (message,) = await _rows(resources, WhatsappMessage)
    assert message.wamid == "wamid.OK"
    (webhook,) = await _rows(resources, InboundWebhook)
    assert webhook.status == "processed" and webhook.item_count == 3
    assert webhook.errors is not None
    assert [e["item"] for e in webhook.errors] == [
        "entry[0].changes[0].value.messages[0]",
        "entry[0].changes[0].value.errors[0]",
    ]
    assert webhook.errors[1]["meta"]["code"] == 131051


async def test_an_unknown_number_is_acknowledged_and_recorded(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    body = delivery(messages=[inbound_text("wamid.1", "hi")])
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    # The sandbox's secret does not sign for a number that is not the sandbox's.
    assert (await post_webhook(client, body)).status_code == 401
    assert (await post_webhook(client, body, secret=META_APP_SECRET)).status_code == 200
    await run_jobs(resources)
    assert await _rows(resources, WhatsappMessage) == []
    (webhook,) = await _rows(resources, InboundWebhook)
    assert webhook.errors is not None and "999" in webhook.errors[0]["error"]


async def _echo_loop(client: httpx.AsyncClient, resources: Resources, project: Any) -> None:
    """An echo loop started by "start": each reply is answered with its own text."""
    loop = chain(
        node("start", "start"),
        node("wait", "wait_for_response", save_response_to="said"),
        node("echo", "send_text", message="echo {{vars.said}}"),
    )
    loop["edges"].append(edge("echo", "wait"))
    flow_id = await create_active_flow(client, project, loop)
    await add_inbound_trigger(client, project, flow_id, keywords=["start"])
    await post_webhook(client, delivery(messages=[inbound_text("wamid.S", "start", at=1_000)]))
    await run_jobs(resources)


async def _fire_shuffled(client: httpx.AsyncClient, count: int) -> list[httpx.Response]:
    items = [inbound_text(f"wamid.{n}", f"m{n}", at=2_000 + n) for n in range(count)]
    random.shuffle(items)
    return await asyncio.gather(*(post_webhook(client, delivery(messages=[i])) for i in items))


async def test_a_hundred_concurrent_messages_while_the_flow_runs_are_processed_in_order_once(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """They arrive, shuffled, while a step of the execution is in flight (resumed through
    the API, its advance not yet run): all wait, then go through in Meta's order."""
    project = await create_project(resources, sandbox_url)
    await _echo_loop(client, resources, project)
    (execution,) = await _rows(resources, FlowExecution)
    resumed = await client.post(
        f"/api/v1/flow_executions/{execution.id}/resume",
        headers=project.headers,
        json={"input": "first"},
    )
    assert resumed.status_code == 200, resumed.text

    answers = await _fire_shuffled(client, 100)
    assert [a.status_code for a in answers] == [200] * 100
    await run_jobs(resources)

    assert _sent_texts(sandbox) == ["echo first"] + [f"echo m{n}" for n in range(100)]
    inbound = [m for m in await _rows(resources, WhatsappMessage) if m.direction == "inbound"]
    assert len(inbound) == 101
    assert {m.processing_status for m in inbound} == {"processed"}


async def test_a_hundred_concurrent_messages_with_a_worker_running_are_each_processed_once(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """With the worker running while they arrive, none is lost or processed twice (the
    order is Meta's among the messages received so far: see "Inbound messages")."""
    project = await create_project(resources, sandbox_url)
    await _echo_loop(client, resources, project)
    answers, _ = await asyncio.gather(_fire_shuffled(client, 100), run_jobs(resources))
    assert [a.status_code for a in answers] == [200] * 100
    await run_jobs(resources)

    sent = _sent_texts(sandbox)
    assert sorted(sent) == sorted(f"echo m{n}" for n in range(100))
    inbound = [m for m in await _rows(resources, WhatsappMessage) if m.direction == "inbound"]
    assert {m.processing_status for m in inbound} == {"processed"}


async def test_a_delivery_left_pending_is_stored_by_the_process_job(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    """The fallback when the request could not store the items: the job does, once."""
    from threadline.inbound.receiver import PROCESS_TASK
    from threadline.jobs.queue import enqueue
    from threadline.kit.clock import utcnow

    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, menu_flow())
    await add_inbound_trigger(client, project, flow_id)
    raw, _headers = signed(delivery(messages=[inbound_text("wamid.LATE", "hi")]))
    async with resources.db.transaction() as session:
        row = InboundWebhook(
            body=raw.decode(), status="pending", item_count=0, received_at=utcnow()
        )
        session.add(row)
        await session.flush()
        for _ in range(2):  # a duplicate job changes nothing
            await enqueue(session, PROCESS_TASK, {"webhook_id": row.id})
    await run_jobs(resources)
    (stored,) = await _rows(resources, InboundWebhook)
    assert (stored.status, stored.item_count) == ("processed", 1)
    assert len(await _rows(resources, WhatsappMessage)) == 2  # hi, and the menu sent back
    assert _sent_texts(sandbox) == ["Hello hi! Coffee?"]
