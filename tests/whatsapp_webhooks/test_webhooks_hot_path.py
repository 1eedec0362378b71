"""Events cost nothing on a config without webhooks; saved URLs meet the egress policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from builders import create_project, delivery, inbound_text, post_webhook, run_jobs
from threadline.kit.egress import EgressPolicy, url_refusal
from threadline.kit.resources import Resources
from threadline.models import WebhookDelivery
from threadline.whatsapp_webhooks import events


@contextmanager
def statements_on(resources: Resources, table: str) -> Iterator[list[str]]:
    """The SQL statements that name ``table``, while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if table in statement:
            seen.append(statement)

    engine = resources.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_messages_on_a_config_without_webhooks_look_it_up_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    events.subscriptions.clear()
    with statements_on(resources, "whatsapp_webhook") as seen:
        for n in range(5):
            await post_webhook(client, delivery(messages=[inbound_text(f"wamid.H{n}", "hi")]))
        await run_jobs(resources)
    lookups = [s for s in seen if "FROM whatsapp_webhooks" in s]
    assert len(lookups) == 1, seen  # then cached
    assert not [s for s in seen if WebhookDelivery.__tablename__ in s]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hook",
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/hook",
    ],
)
async def test_a_url_to_this_network_is_refused_by_default(url: str) -> None:
    reason = await url_refusal(EgressPolicy.build(""), url)
    assert reason is not None and reason.startswith("egress refused")


async def test_a_public_address_and_an_allowed_one_pass() -> None:
    assert await url_refusal(EgressPolicy.build(""), "https://93.184.215.14/hook") is None
    allowed = EgressPolicy.build("10.0.0.0/8")
    assert await url_refusal(allowed, "https://10.0.0.8/hook") is None
