"""The whole channel over real HTTP: the sandbox plays the user and Meta's webhooks.

The sandbox POSTs signed deliveries to the platform's ``/webhooks/whatsapp`` (a real
uvicorn server); the platform's worker sends the flow's answers to the sandbox's Graph
API; the sandbox's status webhooks come back. Nothing is posted by hand.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from test_inbound_drives_flows import menu_flow

from builders import add_inbound_trigger, create_active_flow, create_project
from support import eventually
from threadline.jobs.worker import Worker
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, WhatsappMessage

PHONE = "15550009999"


async def _thread(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await control.get("/thread", params={"phone": PHONE})
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def test_hi_from_the_sandbox_starts_the_flow_and_a_tap_ends_it(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    control: httpx.AsyncClient,
    worker: Worker,
) -> None:
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(client, project, menu_flow())
    await add_inbound_trigger(client, project, flow_id, keywords=["hi"])

    hi = {"from": PHONE, "profile_name": "Grace", "type": "text", "text": {"body": "hi"}}
    (await control.post("/inbound", json=hi)).raise_for_status()

    async def buttons() -> dict[str, Any] | None:
        for entry in await _thread(control):
            if entry.get("direction") == "outbound" and entry.get("interactive"):
                return dict(entry)
        return None

    menu = await eventually(
        buttons, timeout=15, what="the flow's reply buttons in the phone's thread"
    )
    tap = {
        "from": PHONE,
        "type": "button_reply",
        "button_reply": {"id": "yes", "title": "Yes please"},
        "context": {"id": menu["id"]},
    }
    (await control.post("/inbound", json=tap)).raise_for_status()

    async def ended() -> FlowExecution | None:
        async with resources.db.session() as session:
            row = (await session.execute(select(FlowExecution))).scalar_one_or_none()
        return row if row is not None and row.status == "ended" else None

    execution = await eventually(ended, timeout=15, what="the execution to end")
    assert execution.system["last_resume"]["id"] == "yes"

    async def answered() -> bool:
        thread = await _thread(control)
        return any(e["direction"] == "outbound" and e["text"] == "Brewing (yes)" for e in thread)

    await eventually(answered, timeout=15, what="the flow's answer in the phone's thread")

    async def delivered() -> list[WhatsappMessage] | None:
        async with resources.db.session() as session:
            rows = list((await session.execute(select(WhatsappMessage))).scalars())
        outbound = [m for m in rows if m.direction == "outbound"]
        done = len(outbound) == 2 and all(m.status == "delivered" for m in outbound)
        return rows if done else None

    rows = await eventually(delivered, timeout=15, what="both answers to be reported delivered")
    inbound = [m for m in rows if m.direction == "inbound"]
    assert [m.processing_status for m in inbound] == ["processed", "processed"]
    assert len({m.conversation_id for m in rows}) == 1
