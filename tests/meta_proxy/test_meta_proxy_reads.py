"""Reads through the Meta proxy: history, conversations, contacts and calls, cursor-paged."""

from __future__ import annotations

from typing import Any

import httpx

from builders import (
    add_call,
    add_inbound_message,
    create_project,
    inbound_text_message,
    open_conversation,
    proxy_client,
    sandbox_phone_number_id,
)
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

PNID = sandbox_phone_number_id()


async def _walk(proxy: httpx.AsyncClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``paging.next`` as a client does."""
    pages: list[list[dict[str, Any]]] = []
    answer = (await proxy.get(path, params=params)).json()
    pages.append(answer["data"])
    while "next" in answer["paging"]:
        answer = (await proxy.get(answer["paging"]["next"])).json()
        pages.append(answer["data"])
    return pages


async def test_history_pages_by_cursor_filters_and_selects_fields(
    resources: Resources, sandbox: SandboxState, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ada = await open_conversation(resources, project, phone="+15550002222", name="Ada")
    bo = await open_conversation(resources, project, phone="+15550003333", name="Bo")
    for n in range(4):
        await add_inbound_message(
            resources, project, ada, inbound_text_message(f"ada {n}"), wamid=f"wamid.ada.{n}"
        )
    await add_inbound_message(resources, project, bo, inbound_text_message("bo", "+15550003333"))
    async with proxy_client(live_url, project) as proxy:
        pages = await _walk(proxy, f"{PNID}/messages", limit=2)
        assert [len(page) for page in pages] == [2, 2, 1]
        bodies = [m["text"]["body"] for page in pages for m in page]
        assert bodies == ["bo", "ada 3", "ada 2", "ada 1", "ada 0"]
        first = pages[1][0]
        assert first["from"] == "15550002222" and first["type"] == "text"
        assert first["kapso"]["contact_name"] == "Ada"
        assert first["kapso"]["whatsapp_conversation_id"] == ada.id
        second = (await proxy.get(f"{PNID}/messages", params={"limit": 2})).json()
        back = await proxy.get(
            f"{PNID}/messages", params={"limit": 2, "before": second["paging"]["cursors"]["after"]}
        )
        assert [m["id"] for m in back.json()["data"]] == [m["id"] for m in second["data"]]
        selected = await proxy.get(
            f"{PNID}/messages",
            params={"conversation_id": bo.id, "fields": "type,kapso(direction,contact_name)"},
        )
        assert selected.json()["data"] == [
            {
                "id": selected.json()["data"][0]["id"],
                "type": "text",
                "kapso": {"direction": "inbound", "contact_name": "Bo"},
            }
        ]
        tally = (await proxy.get(f"conversations/{ada.id}")).json()["kapso"]
        assert tally["messages_count"] == 4 and tally["last_message_text"] == "ada 3"
        assert tally["last_message_id"] == pages[0][1]["id"]  # "ada 3"
        outbound = await proxy.get(f"{PNID}/messages", params={"direction": "outbound"})
        assert outbound.json()["data"] == []
        bad = await proxy.get(f"{PNID}/messages", params={"after": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 100


async def test_conversations_contacts_and_calls_read_and_update(
    resources: Resources, sandbox: SandboxState, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    ada = await open_conversation(resources, project, phone="+15550002222", name="Ada")
    await open_conversation(resources, project, phone="+15550003333", name="Bo")
    call = await add_call(resources, project, ada, call_id="wacid.1")
    async with proxy_client(live_url, project) as proxy:
        pages = await _walk(proxy, f"{PNID}/conversations", limit=1)
        assert [len(page) for page in pages] == [1, 1]
        listed = {c["id"]: c for page in pages for c in page}
        assert listed[ada.id]["phone_number_id"] == PNID
        assert listed[ada.id]["kapso"]["contact_name"] == "Ada"
        assert listed[ada.id]["kapso"]["messages_count"] == 0
        for path in (f"conversations/{ada.id}", f"{PNID}/conversations/{ada.id}"):
            one = await proxy.get(path)
            assert one.status_code == 200 and one.json()["status"] == "active"
        ended = await proxy.patch(f"conversations/{ada.id}", json={"status": "ended"})
        assert ended.json() == {"success": True}
        active = await proxy.get(f"{PNID}/conversations", params={"status": "active"})
        assert [c["kapso"]["contact_name"] for c in active.json()["data"]] == ["Bo"]
        wrong = await proxy.patch(f"conversations/{ada.id}", json={"status": "paused"})
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 100

        contacts = await _walk(proxy, f"{PNID}/contacts", limit=1, fields="wa_id,profile_name")
        assert sorted(c["wa_id"] for page in contacts for c in page) == [
            "15550002222",
            "15550003333",
        ]
        renamed = await proxy.patch(
            f"{PNID}/contacts/15550002222", json={"display_name": "Ada L.", "metadata": {"vip": 1}}
        )
        assert renamed.json() == {"success": True}
        contact = (await proxy.get(f"{PNID}/contacts/15550002222")).json()
        assert contact["profile_name"] == "Ada L." and contact["metadata"] == {"vip": 1}
        by_wa_id = await proxy.get(f"{PNID}/contacts", params={"wa_id": "15550003333"})
        assert [c["profile_name"] for c in by_wa_id.json()["data"]] == ["Bo"]
        missing = await proxy.get(f"{PNID}/contacts/15559999999")
        assert missing.status_code == 404 and missing.json()["error"]["error_subcode"] == 33

        calls = (await proxy.get(f"{PNID}/calls")).json()["data"]
        assert [c["call_id"] for c in calls] == ["wacid.1"]
        for call_ref in (call, "wacid.1"):
            one = await proxy.get(f"calls/{call_ref}")
            assert one.json()["id"] == call and one.json()["phone_number_id"] == PNID
        filtered = await proxy.get(f"{PNID}/calls", params={"call_id": "wacid.other"})
        assert filtered.json()["data"] == []
        assert (await proxy.get("calls/wacid.other")).status_code == 404
