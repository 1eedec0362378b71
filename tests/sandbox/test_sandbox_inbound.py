"""``POST /_sandbox/inbound``: every inbound type in Meta's exact wire shape, and bad bodies."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sandbox_receiver import Receiver

from threadline.sandbox import SandboxState

PHONE = "15551230001"
WAMID = re.compile(r"wamid\.[A-Za-z0-9_-]{20,}")


async def inject(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/_sandbox/inbound", json={"from": PHONE, **body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def content(message: dict[str, Any]) -> dict[str, Any]:
    """The message without what every message has (from, id, timestamp)."""
    assert message["from"] == PHONE
    assert WAMID.fullmatch(message["id"])
    assert message["timestamp"].isdigit()
    return {k: v for k, v in message.items() if k not in ("from", "id", "timestamp")}


CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"type": "text", "text": {"body": "hi"}},
        {"type": "text", "text": {"body": "hi"}},
    ),
    (
        {"type": "interactive", "interactive": {"type": "button_reply",
                                                "button_reply": {"id": "yes", "title": "Yes"}}},
        {"type": "interactive", "interactive": {"type": "button_reply",
                                                "button_reply": {"id": "yes", "title": "Yes"}}},
    ),
    (
        {"type": "button_reply", "button_reply": {"id": "no", "title": "No"}},
        {"type": "interactive", "interactive": {"type": "button_reply",
                                                "button_reply": {"id": "no", "title": "No"}}},
    ),
    (
        {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row", "description": "d"}},
        {"type": "interactive", "interactive": {
            "type": "list_reply", "list_reply": {"id": "r1", "title": "Row", "description": "d"}}},
    ),
    (
        {"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
        {"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
    ),
    (
        {"type": "location", "location": {"latitude": 37.48, "longitude": -122.15,
                                          "name": "HQ", "address": "1 Hacker Way"}},
        {"type": "location", "location": {"latitude": 37.48, "longitude": -122.15,
                                          "name": "HQ", "address": "1 Hacker Way"}},
    ),
    (
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Chandler Bing"},
                                           "phones": [{"phone": "+1 555", "type": "CELL"}]}]},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Chandler Bing"},
                                           "phones": [{"phone": "+1 555", "type": "CELL"}]}]},
    ),
    (
        {"type": "reaction", "reaction": {"message_id": "wamid.abc", "emoji": "👍"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.abc", "emoji": "👍"}},
    ),
    (
        {"type": "reaction", "reaction": {"message_id": "wamid.abc"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.abc", "emoji": ""}},
    ),
    (
        {"type": "unsupported", "unsupported": {"type": "poll"}},
        {"type": "unsupported", "errors": [{
            "code": 131051, "title": "Message type unknown", "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."}}],
         "unsupported": {"type": "poll"}},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "wire"), CASES)
async def test_each_type_has_metas_wire_shape(
    client: httpx.AsyncClient, hooked: Receiver, body: dict[str, Any], wire: dict[str, Any]
) -> None:
    result = await inject(client, profile_name="Ana", **body)

    (received,) = await hooked.wait_for(1)

    assert content(result["message"]) == wire
    assert received.value()["messages"] == [result["message"]]
    assert received.value()["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": PHONE}]
    assert result["wamid"] == result["message"]["id"]


@pytest.mark.parametrize(
    ("kind", "extra", "mime_type"),
    [
        ("image", {"caption": "receipt"}, "image/jpeg"),
        ("video", {}, "video/mp4"),
        ("audio", {"voice": True}, "audio/ogg; codecs=opus"),
        ("document", {"caption": "invoice", "filename": "a.pdf"}, "application/pdf"),
        ("sticker", {}, "image/webp"),
    ],
)
async def test_media_messages_get_a_downloadable_media_id(
    client: httpx.AsyncClient, kind: str, extra: dict[str, Any], mime_type: str
) -> None:
    result = await inject(client, type=kind, **{kind: extra})

    media = result["message"][kind]
    assert media["mime_type"] == mime_type
    assert re.fullmatch(r"[0-9a-f]{64}", media["sha256"])
    assert {k: media[k] for k in extra} == extra
    if kind == "audio":
        assert media["voice"] is True
    if kind == "sticker":
        assert media["animated"] is False
    lookup = (await client.get(f"/v23.0/{media['id']}")).json()
    assert (lookup["mime_type"], lookup["sha256"]) == (mime_type, media["sha256"])
    download = await client.get(lookup["url"])
    assert download.status_code == 200 and download.content


async def test_a_reply_carries_context_from_the_business_number(
    client: httpx.AsyncClient,
) -> None:
    own = await inject(client, type="text", text={"body": "first"})

    to_business = await inject(client, type="text", text={"body": "a"}, context={"id": "wamid.x"})
    to_self = await inject(client, type="text", text={"body": "b"}, context={"id": own["wamid"]})
    forwarded = await inject(client, type="text", text={"body": "c"}, context={"forwarded": True})

    assert to_business["message"]["context"] == {"from": "15550000001", "id": "wamid.x"}
    assert to_self["message"]["context"] == {"from": PHONE, "id": own["wamid"]}
    assert forwarded["message"]["context"] == {"forwarded": True}
    assert list(to_business["message"]) == ["from", "id", "timestamp", "context", "type", "text"]


async def test_wamids_are_unique(client: httpx.AsyncClient) -> None:
    ids = {(await inject(client, type="text", text={"body": "x"}))["wamid"] for _ in range(50)}

    assert len(ids) == 50


async def test_an_injection_opens_the_phones_window(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    await inject(client, type="text", text={"body": "hi"}, profile_name="Bea")

    (phone,) = (await client.get("/_sandbox/phones")).json()["data"]
    assert phone["wa_id"] == PHONE and phone["profile_name"] == "Bea"
    assert phone["window_open"] is True
    assert phone["message_count"] == 1


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"type": "text"}, "give the text object"),
        ({"type": "text", "text": {"body": ""}}, "text"),
        ({"type": "text", "text": {"body": "x"}, "button": {"payload": "p", "text": "t"}},
         "remove button"),
        ({"type": "gif", "text": {"body": "x"}}, "type"),
        ({"type": "interactive", "interactive": {"type": "button_reply"}},
         "give interactive.button_reply"),
        ({"type": "location", "location": {"latitude": 91, "longitude": 0}}, "latitude"),
        ({"type": "image", "image": {"id": "404"}}, "upload it first"),
        ({"type": "text", "text": {"body": "x"}, "from": "12"}, "6 to 15 digits"),
        ({"type": "text", "text": {"body": "x"}, "colour": "red"}, "colour"),
        ({"type": "contacts", "contacts": []}, "contacts"),
    ],
)  # fmt: skip
async def test_bad_injections_are_clear_422s_that_send_nothing(
    client: httpx.AsyncClient, hooked: Receiver, body: dict[str, Any], hint: str
) -> None:
    response = await client.post("/_sandbox/inbound", json={"from": PHONE, **body})

    assert response.status_code == 422, response.text
    assert hint in response.text
    assert (await client.get("/_sandbox/webhooks")).json()["count"] == 0
    assert (await client.get("/_sandbox/phones")).json()["count"] == 0


async def test_value_level_errors_are_delivered(
    client: httpx.AsyncClient, hooked: Receiver
) -> None:
    response = await client.post("/_sandbox/errors", json={"code": 130429})

    assert response.status_code == 200
    (received,) = await hooked.wait_for(1)
    value = received.value()
    assert "messages" not in value and "contacts" not in value
    (error,) = value["errors"]
    assert error["code"] == 130429
    assert error["title"] == error["message"] == "Rate limit hit"
    assert error["error_data"]["details"]
    assert response.json()["delivery_id"] is not None
