"""Retries, ordering per conversation, the delivery log and redelivery."""

from __future__ import annotations

import json
from typing import Any

import httpx
from test_webhooks_crud import create_webhook, hooks_url

from builders import (
    TestProject,
    create_project,
    default_config_id,
    delivery,
    inbound_text,
    post_webhook,
    run_jobs,
)
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.whatsapp_webhooks import names
from whatsapp_webhooks.conftest import Receiver


async def _setup(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> tuple[TestProject, str, dict[str, Any]]:
    project = await create_project(resources, sandbox_url)
    config_id = await default_config_id(resources, project)
    hook = await create_webhook(
        client, project, config_id, url=receiver.url, events=[names.MESSAGE_RECEIVED]
    )
    return project, config_id, hook


def _texts(receiver: Receiver) -> list[str]:
    return [json.loads(body)["message"]["text"]["body"] for body in receiver.bodies()]


async def test_a_delivery_is_retried_after_the_receiver_fails_twice(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    project, config_id, hook = await _setup(client, resources, sandbox_url, receiver)
    receiver.fail_next = 2
    await post_webhook(client, delivery(messages=[inbound_text("wamid.A", "a")]))
    await run_jobs(resources)
    assert receiver.failed == 2 and _texts(receiver) == ["a"]
    log = await client.get(
        hooks_url(config_id) + f"/{hook['id']}/deliveries", headers=project.headers
    )
    (row,) = log.json()["data"]
    assert row["status"] == "delivered" and row["attempts"] == 3
    assert row["response_status"] == 200 and row["event"] == names.MESSAGE_RECEIVED


async def test_deliveries_of_one_conversation_wait_for_the_one_being_retried(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    await _setup(client, resources, sandbox_url, receiver)
    # Fail "first" once, whichever conversation's delivery reaches the receiver first.
    refused: list[bytes] = []

    def refuse_first_once(body: bytes) -> bool:
        if refused or b'"first"' not in body:
            return False
        refused.append(body)
        return True

    receiver.fail_if = refuse_first_once
    await post_webhook(client, delivery(messages=[inbound_text("wamid.1", "first")]))
    await post_webhook(client, delivery(messages=[inbound_text("wamid.2", "second")]))
    other = inbound_text("wamid.3", "elsewhere", sender="15550003333")
    await post_webhook(client, delivery(messages=[other]))
    await Worker(resources).run_until_idle()
    # "first" waits out its backoff; "second" waits behind it; the other conversation's went.
    assert receiver.failed == 1 and _texts(receiver) == ["elsewhere"]
    await run_jobs(resources)
    assert _texts(receiver) == ["elsewhere", "first", "second"] and receiver.failed == 1


async def test_a_delivery_that_keeps_failing_is_recorded_failed_and_can_be_redelivered(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    project, config_id, hook = await _setup(client, resources, sandbox_url, receiver)
    receiver.fail_next = 100
    await post_webhook(client, delivery(messages=[inbound_text("wamid.F", "lost")]))
    await run_jobs(resources)
    base = hooks_url(config_id) + f"/{hook['id']}/deliveries"
    (row,) = (await client.get(base, headers=project.headers, params={"status": "failed"})).json()[
        "data"
    ]
    assert row["attempts"] == 3 and row["response_status"] == 503 and receiver.failed == 3
    assert row["last_error"] == "down"
    receiver.fail_next = 0
    again = await client.post(f"{base}/{row['id']}/redeliver", headers=project.headers)
    assert again.status_code == 202 and again.json()["data"]["status"] == "pending"
    await run_jobs(resources)
    assert _texts(receiver) == ["lost"]
    assert receiver.received[0].headers["x-idempotency-key"] == row["event_id"]
    (done,) = (await client.get(base, headers=project.headers)).json()["data"]
    assert done["status"] == "delivered"
    twice = await client.post(f"{base}/{row['id']}/redeliver", headers=project.headers)
    assert twice.status_code == 202
    missing = await client.post(f"{base}/999999/redeliver", headers=project.headers)
    assert missing.status_code == 404


async def test_a_config_without_webhooks_writes_no_delivery(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str, receiver: Receiver
) -> None:
    project, config_id, hook = await _setup(client, resources, sandbox_url, receiver)
    one = hooks_url(config_id) + f"/{hook['id']}"
    await client.patch(one, headers=project.headers, json={"whatsapp_webhook": {"active": False}})
    await post_webhook(client, delivery(messages=[inbound_text("wamid.Q", "quiet")]))
    await run_jobs(resources)
    assert receiver.received == []
    log = await client.get(one + "/deliveries", headers=project.headers)
    assert log.json()["data"] == []
