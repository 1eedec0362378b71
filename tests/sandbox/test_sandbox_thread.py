"""``/_sandbox/phones`` and ``/_sandbox/thread``: a phone's chat as structured data."""

from __future__ import annotations

from typing import Any

import httpx

MESSAGES = "/v23.0/100000000000001/messages"
PHONE = "15551230001"


def interactive(content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": PHONE, "type": "interactive",
            "interactive": content}  # fmt: skip


BUTTONS = {
    "type": "button",
    "header": {"type": "text", "text": "Menu"},
    "body": {"text": "Pick one"},
    "footer": {"text": "Threadline"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "no", "title": "No"}},
        ]
    },
}
LIST = {
    "type": "list",
    "body": {"text": "Choose a slot"},
    "action": {
        "button": "Slots",
        "sections": [
            {"title": "Morning", "rows": [{"id": "m9", "title": "9:00", "description": "early"}]},
            {"title": "Evening", "rows": [{"id": "e6", "title": "18:00"}]},
        ],
    },
}


async def test_the_thread_shows_both_directions_with_buttons_and_rows(
    client: httpx.AsyncClient,
) -> None:
    inbound = {"from": PHONE, "profile_name": "Ana", "type": "text", "text": {"body": "hi"}}
    hi = (await client.post("/_sandbox/inbound", json=inbound)).json()
    buttons = (await client.post(MESSAGES, json=interactive(BUTTONS))).json()["messages"][0]["id"]
    rows = (await client.post(MESSAGES, json=interactive(LIST))).json()["messages"][0]["id"]
    tap = {"from": PHONE, "type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"},
           "context": {"id": buttons}}  # fmt: skip
    await client.post("/_sandbox/inbound", json=tap)

    thread = (await client.get("/_sandbox/thread", params={"phone": "+1 (555) 123-0001"})).json()

    assert thread["phone"] == PHONE and thread["profile_name"] == "Ana"
    assert thread["window_open"] is True
    messages = thread["messages"]
    assert [(m["direction"], m["id"]) for m in messages[:3]] == [
        ("inbound", hi["wamid"]),
        ("outbound", buttons),
        ("outbound", rows),
    ]
    assert messages[0]["text"] == "hi"
    assert messages[0]["status"] == "delivered"
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": hi["wamid"]}
    assert (await client.post(MESSAGES, json=receipt)).json() == {"success": True}
    again = (await client.get("/_sandbox/thread", params={"phone": PHONE})).json()
    assert again["messages"][0]["status"] == "read"
    assert messages[1]["interactive"] == {
        "type": "button",
        "header": "Menu",
        "body": "Pick one",
        "footer": "Threadline",
        "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
    }
    assert messages[1]["text"] == "Pick one"
    assert messages[1]["status"] in ("accepted", "sent", "delivered")
    assert messages[2]["interactive"]["button"] == "Slots"
    assert messages[2]["interactive"]["sections"] == [
        {"title": "Morning", "rows": [{"id": "m9", "title": "9:00", "description": "early"}]},
        {"title": "Evening", "rows": [{"id": "e6", "title": "18:00", "description": None}]},
    ]
    assert messages[3]["text"] == "Yes"
    assert messages[3]["message"]["context"]["id"] == buttons


async def test_a_template_renders_its_parameters(client: httpx.AsyncClient) -> None:
    send = {
        "messaging_product": "whatsapp",
        "to": PHONE,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                                {"type": "text", "text": "A-7"}]}
            ],
        },
    }  # fmt: skip
    assert (await client.post(MESSAGES, json=send)).status_code == 200

    (message,) = (await client.get("/_sandbox/thread", params={"phone": PHONE})).json()["messages"]

    assert message["text"] == "Hi Ana, your order A-7 is on its way."
    assert message["buttons"] == []


async def test_phones_lists_who_talked_most_recent_first(client: httpx.AsyncClient) -> None:
    for phone in ("15551230001", "15551230002"):
        body = {"from": phone, "type": "text", "text": {"body": "hi"}}
        await client.post("/_sandbox/inbound", json=body)

    phones = (await client.get("/_sandbox/phones")).json()

    assert [p["wa_id"] for p in phones["data"]] == ["15551230002", "15551230001"]
    assert phones["count"] == 2


async def test_an_unknown_phone_has_an_empty_thread_and_a_bad_one_is_a_422(
    client: httpx.AsyncClient,
) -> None:
    empty = (await client.get("/_sandbox/thread", params={"phone": "15559990000"})).json()
    bad = await client.get("/_sandbox/thread", params={"phone": "abc"})
    bad_read = await client.post("/_sandbox/thread/read", json={"phone": "12"})

    assert empty["messages"] == [] and empty["window_open"] is False
    assert bad.status_code == 422 and "6 to 15 digits" in bad.json()["detail"]
    assert bad_read.status_code == 422
