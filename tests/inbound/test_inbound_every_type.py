"""Every inbound type, status and value-level error, as the sandbox sends them like Meta,
goes through the platform's receiver and is stored correctly."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from builders import create_project
from support import eventually
from threadline.kit.resources import Resources
from threadline.models import InboundWebhook, WhatsappMessage

PHONE = "15550004444"

#: (the injection's fields, the stored message_type, its content line, processed as a turn)
CASES: list[tuple[dict[str, Any], str, str, bool]] = [
    ({"type": "text", "text": {"body": "hello"}}, "text", "hello", True),
    (
        {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
        "interactive",
        "Yes",
        True,
    ),
    (
        {"type": "list_reply", "list_reply": {"id": "r2", "title": "Row two"}},
        "interactive",
        "Row two",
        True,
    ),
    ({"type": "button", "button": {"payload": "STOP", "text": "Stop"}}, "button", "Stop", True),
    ({"type": "image", "image": {"caption": "a cat"}}, "image", "[image] a cat", True),
    ({"type": "audio", "audio": {"voice": True}}, "audio", "[audio]", True),
    ({"type": "video", "video": {}}, "video", "[video]", True),
    ({"type": "document", "document": {"filename": "a.pdf"}}, "document", "[document] a.pdf", True),
    ({"type": "sticker", "sticker": {}}, "sticker", "[sticker]", True),
    (
        {"type": "location", "location": {"latitude": 1.5, "longitude": 2.5, "name": "Dock"}},
        "location",
        "[location] Dock (1.5,2.5)",
        True,
    ),
    (
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Bo"}, "phones": []}]},
        "contacts",
        "",
        True,
    ),
    ({"type": "unsupported", "unsupported": {"type": "poll"}}, "unsupported", "", False),
]


async def _inbound(resources: Resources) -> list[WhatsappMessage]:
    async with resources.db.session() as session:
        statement = select(WhatsappMessage).where(WhatsappMessage.direction == "inbound")
        return list((await session.execute(statement.order_by(WhatsappMessage.id))).scalars())


async def test_every_inbound_type_is_stored_with_its_content(
    resources: Resources, sandbox_url: str, control: httpx.AsyncClient
) -> None:
    await create_project(resources, sandbox_url)
    wamids = []
    for fields, _type, _content, _turn in CASES:
        injected = await control.post("/inbound", json={"from": PHONE, **fields})
        assert injected.status_code == 200, injected.text
        wamids.append(injected.json()["wamid"])
    reaction = {"type": "reaction", "reaction": {"message_id": wamids[0], "emoji": "👍"}}
    assert (await control.post("/inbound", json={"from": PHONE, **reaction})).status_code == 200

    async def all_stored() -> list[WhatsappMessage] | None:
        rows = await _inbound(resources)
        return rows if len(rows) == len(CASES) + 1 else None

    rows = await eventually(all_stored, timeout=15, what="every message to be stored")
    by_wamid = {row.wamid: row for row in rows}
    for wamid, (fields, kind, content, turn) in zip(wamids, CASES, strict=True):
        row = by_wamid[wamid]
        assert (row.message_type, row.phone_number) == (kind, f"+{PHONE}"), fields
        if content:
            assert row.content == content, fields
        assert row.payload["type"] == kind and kind in row.payload, row.payload
        assert (row.processing_status != "skipped") is turn, (fields, row.processing_status)
    media = by_wamid[wamids[4]].payload["image"]
    assert media["id"] and media["mime_type"]  # the media id Meta sends, kept for download
    liked = [row for row in rows if row.message_type == "reaction"]
    assert liked[0].payload["reaction"]["emoji"] == "👍"
    assert liked[0].processing_status == "skipped"  # a reaction is not a turn


async def test_statuses_and_value_level_errors_from_the_sandbox_are_recorded(
    resources: Resources, sandbox_url: str, control: httpx.AsyncClient
) -> None:
    await create_project(resources, sandbox_url)
    emitted = await control.post("/errors", json={"code": 130429})
    assert emitted.status_code == 200, emitted.text

    async def recorded() -> InboundWebhook | None:
        async with resources.db.session() as session:
            rows = list((await session.execute(select(InboundWebhook))).scalars())
        return rows[0] if rows and rows[0].status == "processed" else None

    webhook = await eventually(recorded, timeout=15, what="the errors delivery to be processed")
    assert webhook.errors is not None
    assert webhook.errors[0]["meta"]["code"] == 130429
