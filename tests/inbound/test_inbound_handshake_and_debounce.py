"""Meta's subscription handshake, and replies combined by the debounce window."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from builders import (
    add_inbound_trigger,
    ask_and_reply,
    create_active_flow,
    create_project,
    delivery,
    inbound_text,
    post_webhook,
    run_jobs,
)
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.models import WhatsappMessage
from threadline.sandbox.state import SandboxState

VERIFY_TOKEN = "the-verify-token"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A verify token for the app-wide URL, and a 2 s debounce window."""
    return settings.model_copy(
        update={"meta_verify_token": VERIFY_TOKEN, "inbound_debounce_ms": 2000}
    )


def _hub(token: str, mode: str = "subscribe") -> dict[str, str]:
    return {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "1158201444"}


async def test_the_handshake_echoes_the_challenge_only_for_the_right_token(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    ok = await client.get("/webhooks/whatsapp", params=_hub(VERIFY_TOKEN))
    assert (ok.status_code, ok.text) == (200, "1158201444")
    for params in (_hub("wrong"), _hub(VERIFY_TOKEN, mode="unsubscribe")):
        refused = await client.get("/webhooks/whatsapp", params=params)
        assert refused.status_code == 403, refused.text
        assert refused.json()["status"] == 403
    bare = await client.get("/webhooks/whatsapp")
    assert bare.status_code == 422 and "hub.verify_token" in bare.json()["message"]


async def test_a_config_url_without_a_verify_token_refuses_and_an_unknown_one_is_404(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    missing = await client.get(
        "/webhooks/whatsapp/00000000-0000-0000-0000-000000000000", params=_hub(VERIFY_TOKEN)
    )
    assert missing.status_code == 404


async def test_replies_inside_the_debounce_window_resume_once_with_their_texts_joined(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, ask_and_reply())
    await add_inbound_trigger(client, project, flow_id, keywords=["go"])
    await post_webhook(client, delivery(messages=[inbound_text("wamid.GO", "go", at=1_000)]))
    await run_jobs(resources)
    parts = [("wamid.A", "I would like", 2_000), ("wamid.B", "a large coffee", 2_001)]
    late = ("wamid.C", "thanks", 2_010)  # outside the 2 s window: its own turn
    for wamid, text, at in [*parts, late]:
        await post_webhook(client, delivery(messages=[inbound_text(wamid, text, at=at)]))
    await run_jobs(resources)

    bodies = [e.payload["text"]["body"] for e in sandbox.outbox]
    assert bodies == ["Question?", "You said I would like\na large coffee"]
    async with resources.db.session() as session:
        rows = (await session.execute(select(WhatsappMessage))).scalars()
        status = {m.wamid: m.processing_status for m in rows if m.direction == "inbound"}
    # The execution ended after the combined reply: "thanks" starts nothing (no keyword).
    assert status == {
        "wamid.GO": "processed",
        "wamid.A": "processed",
        "wamid.B": "combined",
        "wamid.C": "no_flow",
    }
