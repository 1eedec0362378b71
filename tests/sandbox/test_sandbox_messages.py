"""POST /{v}/{phone_number_id}/messages: acceptance, Meta's limits and the error envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from threadline.sandbox import SandboxState, create_sandbox_app

GraphErrorCheck = Callable[[httpx.Response, int, int], dict[str, Any]]

MESSAGES = "/v23.0/100000000000001/messages"
TO = "+1 (555) 010-0001"


def envelope(kind: str, content: Any, to: str = TO) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: content,
    }


async def test_text_send_returns_graph_success_and_is_recorded(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    payload = envelope("text", {"body": "Hello", "preview_url": True})

    response = await client.post(MESSAGES, json=payload)

    assert response.status_code == 200
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": TO, "wa_id": "15550100001"}]
    [message] = body["messages"]
    assert message["id"].startswith("wamid.") and "message_status" not in message
    [entry] = state.outbox
    assert entry.to_json() | {"received_at": None} == {
        "id": message["id"],
        "to": TO,
        "wa_id": "15550100001",
        "type": "text",
        "payload": payload,
        "phone_number_id": "100000000000001",
        "received_at": None,
    }


async def test_missing_type_defaults_to_text(client: httpx.AsyncClient) -> None:
    payload = {"messaging_product": "whatsapp", "to": "15550100001", "text": {"body": "hi"}}

    response = await client.post(MESSAGES, json=payload)

    assert response.status_code == 200
    outbox = (await client.get("/_sandbox/outbox")).json()
    assert outbox["data"][0]["type"] == "text"


async def test_wamids_are_unique_across_sends_and_instances(client: httpx.AsyncClient) -> None:
    ids = {
        (await client.post(MESSAGES, json=envelope("text", {"body": "x"}))).json()["messages"][0][
            "id"
        ]
        for _ in range(20)
    }
    other = create_sandbox_app().state.sandbox

    assert len(ids) == 20
    assert other.next_wamid() not in ids


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        (lambda p: p.pop("messaging_product"), 100, "messaging_product is required"),
        (lambda p: p.update(messaging_product="sms"), 100, "messaging_product"),
        (lambda p: p.pop("to"), 100, "to is required"),
        (lambda p: p.update(to="not-a-number"), 100, "phone number"),
        (lambda p: p.update(type="hologram"), 100, "Param type must be one of"),
        (lambda p: p.update(recipient_type="group"), 100, "recipient_type"),
        (lambda p: p["text"].pop("body"), 100, "text.body is required"),
        (lambda p: p["text"].update(body=""), 131009, "text.body"),
        (lambda p: p["text"].update(body="x" * 4097), 131009, "max 4096"),
        (lambda p: p["text"].update(preview_url="yes"), 100, "preview_url"),
        (lambda p: p.update(context={"message_id": ""}), 131009, "context.message_id"),
        (lambda p: p.update(biz_opaque_callback_data="x" * 513), 131009, "max 512"),
    ],
)
async def test_envelope_and_text_validation(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, mutate: Any, code: int, fragment: str
) -> None:
    payload = envelope("text", {"body": "hello"})
    mutate(payload)

    error = graph_error(await client.post(MESSAGES, json=payload), 400, code)

    assert fragment in error["error_data"]["details"]


async def test_text_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    payload = envelope("text", {"body": "x" * 4096})
    payload["context"] = {"message_id": "wamid.inbound"}
    payload["biz_opaque_callback_data"] = "y" * 512

    assert (await client.post(MESSAGES, json=payload)).status_code == 200


async def test_invalid_json_is_a_graph_error(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    response = await client.post(MESSAGES, content=b"{not json")

    assert "not valid JSON" in graph_error(response, 400, 100)["error_data"]["details"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic sandbox-token"}],
)
async def test_bad_token_is_oauth_190(
    sandbox_app: Any, state: SandboxState, headers: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as anon:
        response = await anon.post(MESSAGES, json=envelope("text", {"body": "x"}), headers=headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert state.outbox == []


async def test_access_token_query_parameter_is_accepted(sandbox_app: Any) -> None:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as anon:
        response = await anon.post(
            MESSAGES, params={"access_token": "sandbox-token"}, json=envelope("text", {"body": "x"})
        )

    assert response.status_code == 200


async def test_unknown_phone_number_id_is_graph_method_exception(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v23.0/999/messages", json=envelope("text", {"body": "x"}))

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    assert "'999'" in error["message"]


@pytest.mark.parametrize("version", ["v21.0", "v23.0", "v26.0"])
async def test_any_graph_version_is_accepted(client: httpx.AsyncClient, version: str) -> None:
    path = f"/{version}/100000000000001/messages"

    assert (await client.post(path, json=envelope("text", {"body": "x"}))).status_code == 200


@pytest.mark.parametrize("version", ["v23", "23.0", "latest"])
async def test_malformed_version_is_not_implemented(
    client: httpx.AsyncClient, version: str
) -> None:
    response = await client.post(
        f"/{version}/100000000000001/messages", json=envelope("text", {"body": "x"})
    )

    assert response.status_code == 501


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("image", {"id": "1234567890", "caption": "Your receipt"}),
        ("document", {"link": "https://x.test/a.pdf", "filename": "a.pdf", "caption": "Invoice"}),
        ("audio", {"id": "42"}),
        ("video", {"link": "https://x.test/v.mp4"}),
        ("sticker", {"id": "7"}),
        ("location", {"latitude": 37.48, "longitude": "-122.14", "name": "HQ"}),
        ("contacts", [{"name": {"formatted_name": "Ana Diaz", "first_name": "Ana"}}]),
        ("reaction", {"message_id": "wamid.abc", "emoji": "👍"}),
        ("reaction", {"message_id": "wamid.abc", "emoji": ""}),
    ],
)
async def test_other_message_types_are_accepted(
    client: httpx.AsyncClient, state: SandboxState, kind: str, content: Any
) -> None:
    response = await client.post(MESSAGES, json=envelope(kind, content))

    assert response.status_code == 200, response.text
    assert state.outbox[-1].type == kind


@pytest.mark.parametrize(
    ("kind", "content", "code", "fragment"),
    [
        ("image", {}, 100, "exactly one of id or link"),
        ("image", {"id": "1", "link": "https://x.test/a.png"}, 100, "exactly one of id or link"),
        ("document", {"link": "ftp://x.test/a.pdf"}, 100, "document.link"),
        ("image", {"id": "1", "caption": "c" * 1025}, 131009, "image.caption"),
        ("image", "https://x.test/a.png", 100, "image must be a JSON object"),
        ("location", {"longitude": 1}, 100, "location.latitude is required"),
        ("location", {"latitude": 91, "longitude": 0}, 131009, "location.latitude"),
        ("location", {"latitude": 0, "longitude": "east"}, 131009, "location.longitude"),
        ("contacts", [], 131009, "contacts has 0 items"),
        ("contacts", [{"name": {}}], 100, "contacts[0].name.formatted_name"),
        ("reaction", {"message_id": "wamid.abc"}, 100, "reaction.emoji"),
    ],
)
async def test_other_message_types_are_validated(
    client: httpx.AsyncClient,
    graph_error: GraphErrorCheck,
    kind: str,
    content: Any,
    code: int,
    fragment: str,
) -> None:
    error = graph_error(await client.post(MESSAGES, json=envelope(kind, content)), 400, code)

    assert fragment in error["error_data"]["details"]


async def test_mark_as_read_succeeds_without_touching_the_outbox(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in"}
    typing = receipt | {"typing_indicator": {"type": "text"}}

    for payload in (receipt, typing):
        response = await client.post(MESSAGES, json=payload)
        assert (response.status_code, response.json()) == (200, {"success": True})

    assert state.outbox == []
    reads = (await client.get("/_sandbox/reads")).json()
    assert [(r["message_id"], r["typing_indicator"]) for r in reads["data"]] == [
        ("wamid.in", False),
        ("wamid.in", True),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.in"},
        {"messaging_product": "whatsapp", "status": "read"},
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.in",
            "typing_indicator": {"type": "audio"},
        },
    ],
)
async def test_bad_read_receipts_are_rejected(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, payload: dict[str, Any]
) -> None:
    graph_error(await client.post(MESSAGES, json=payload), 400, 100)
