"""The conversations and messages API, checked against ``openapi-whatsapp.yaml``.

Two explicit adjustments to the reference's ``WhatsappMessage`` schema, both defects of
the reference rather than choices of ours:

* ``message_type_data`` is a ``oneOf`` of ten object schemas that declare no ``required``
  fields, so every object matches several of them and no value can ever pass. It is
  checked instead against the one ``<Type>MessageData`` its ``message_type`` names.
* ``whatsapp_message_id``, ``media_url`` and ``processing_status`` are declared as
  non-null strings, but a queued message has no wamid yet, a text has no media and an
  outbound message is never "processed" by the inbox: they are ``null`` then (the
  reference's own examples leave them out).
"""

from __future__ import annotations

import copy
import functools
import uuid
from typing import Any

import httpx
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from builders import (
    add_inbound_message,
    create_project,
    delivery,
    inbound_button_reply,
    inbound_text,
    inbound_text_message,
    open_conversation,
    post_webhook,
    run_jobs,
)
from contract.test_contract_kapso_v1 import Spec, assert_matches, load_spec
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources

WHATSAPP = "openapi-whatsapp.yaml"
NULLABLE = ("whatsapp_message_id", "media_url", "processing_status")
TYPE_DATA = {
    "text": "TextMessageData",
    "image": "ImageMessageData",
    "video": "VideoMessageData",
    "audio": "AudioMessageData",
    "document": "DocumentMessageData",
    "location": "LocationMessageData",
    "template": "TemplateMessageData",
    "interactive": "InteractiveMessageData",
    "reaction": "ReactionMessageData",
    "contacts": "ContactsMessageData",
}


@functools.cache
def _message_spec() -> Spec:
    spec = load_spec(WHATSAPP)
    message = copy.deepcopy(spec.schemas["WhatsappMessage"])
    message["properties"]["message_type_data"] = {"type": "object"}
    for name in NULLABLE:
        field = {**message["properties"][name], "nullable": True}
        if "enum" in field:
            field["enum"] = [*field["enum"], None]
        message["properties"][name] = field
    return spec.with_schemas({"WhatsappMessage": message})


def _check_type_data(spec: Spec, message: dict[str, Any]) -> None:
    name = TYPE_DATA[message["message_type"]]
    validator = OAS30Validator(
        {"$ref": f"{spec.uri}#/components/schemas/{name}"},
        registry=spec.registry,
        format_checker=oas30_format_checker,
    )
    errors = [error.message for error in validator.iter_errors(message["message_type_data"])]
    assert not errors, f"message_type_data is not a {name}: {errors}"


def check_messages(path: str, response: httpx.Response) -> None:
    """A messages answer matches the reference (adjusted as the module says)."""
    spec = _message_spec()
    body = response.json() if response.content else None
    assert_matches(spec, path, response.request.method, response.status_code, body)
    data = body.get("data") if isinstance(body, dict) else None
    for message in data if isinstance(data, list) else [data] if data else []:
        _check_type_data(spec, message)


def check(path: str, response: httpx.Response) -> None:
    """A conversations answer matches the reference as it is."""
    body = response.json() if response.content else None
    assert_matches(load_spec(WHATSAPP), path, response.request.method, response.status_code, body)


async def test_conversation_endpoints_match_the_reference(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    headers = project.headers
    base = "/api/v1/whatsapp_conversations"

    check("/whatsapp_conversations", await client.get(base, headers=headers))
    one = "/whatsapp_conversations/{conversation_id}"
    check(one, await client.get(f"{base}/{conversation.id}", headers=headers))
    ended = {"whatsapp_conversation": {"status": "ended"}}
    check(one, await client.patch(f"{base}/{conversation.id}", headers=headers, json=ended))
    missing = "00000000-0000-0000-0000-000000000000"
    check(one, await client.get(f"{base}/{missing}", headers=headers))
    bad = {"whatsapp_conversation": {"status": "closed"}}
    check(one, await client.patch(f"{base}/{conversation.id}", headers=headers, json=bad))
    check("/whatsapp_conversations", await client.get(base))


async def test_message_list_matches_the_reference(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    for payload in (
        inbound_text_message("hi"),
        {"type": "image", "image": {"id": "m-1", "mime_type": "image/png", "caption": "cat"}},
        {"type": "location", "location": {"latitude": 1.5, "longitude": 2.5, "name": "Here"}},
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes"}},
        },
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Bo", "first_name": "Bo"}}]},
    ):
        await add_inbound_message(resources, project, conversation, payload)
    path = "/whatsapp_conversations/{conversation_id}/whatsapp_messages"
    url = f"/api/v1/whatsapp_conversations/{conversation.id}/whatsapp_messages"
    response = await client.get(url, headers=project.headers)
    assert len(response.json()["data"]) == 6
    check_messages(path, response)
    missing = (
        "/api/v1/whatsapp_conversations/00000000-0000-0000-0000-000000000000/whatsapp_messages"
    )
    check_messages(path, await client.get(missing, headers=project.headers))


async def test_sends_match_the_reference(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    path = "/whatsapp_conversations/{conversation_id}/whatsapp_messages"
    url = f"/api/v1/whatsapp_conversations/{conversation.id}/whatsapp_messages"
    for message in ({"content": "hi"}, {"content": ""}):
        response = await client.post(url, headers=project.headers, json={"message": message})
        check_messages(path, response)
    standalone = {"phone_number": "+15550002222", "content": "hi"}
    response = await client.post(
        "/api/v1/whatsapp_messages", headers=project.headers, json={"message": standalone}
    )
    assert response.status_code == 201
    check_messages("/whatsapp_messages", response)


async def test_mark_as_read_and_delete_match_the_reference(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    conversation = await open_conversation(resources, project)
    inbound = str(
        uuid.UUID(
            int=await add_inbound_message(
                resources, project, conversation, inbound_text_message("hi")
            )
        )
    )
    sent = await client.post(
        f"/api/v1/whatsapp_conversations/{conversation.id}/whatsapp_messages",
        headers=project.headers,
        json={"message": {"content": "hi"}},
    )
    outbound = sent.json()["data"]["id"]
    read = "/whatsapp_messages/{id}/mark_as_read"
    for message_id in (inbound, outbound, str(uuid.uuid4())):
        url = f"/api/v1/whatsapp_messages/{message_id}/mark_as_read"
        check_messages(read, await client.patch(url, headers=project.headers))
    one = "/whatsapp_messages/{id}"
    for message_id in (outbound, outbound):
        url = f"/api/v1/whatsapp_messages/{message_id}"
        check_messages(one, await client.delete(url, headers=project.headers))


async def test_a_conversation_made_by_real_webhooks_matches_the_reference(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    """Inbound messages of several types through the signed webhook, then a reply sent."""
    project = await create_project(resources, sandbox_url)
    at = int(utcnow().timestamp())
    sender = "15550007777"

    def item(wamid: str, kind: str, body: Any, offset: int) -> dict[str, Any]:
        return {
            "from": sender,
            "id": wamid,
            "timestamp": str(at + offset),
            "type": kind,
            kind: body,
        }

    messages = [
        inbound_text(f"wamid.{uuid.uuid4().hex}", "hi", sender=sender, at=at),
        inbound_button_reply(f"wamid.{uuid.uuid4().hex}", "yes", "Yes", sender=sender, at=at + 1),
        item("wamid.img", "image", {"id": "m-1", "mime_type": "image/jpeg", "sha256": "x"}, 2),
        item("wamid.loc", "location", {"latitude": 1.0, "longitude": 2.0, "name": "Home"}, 3),
        item("wamid.rea", "reaction", {"message_id": "wamid.img", "emoji": "❤"}, 4),
        item("wamid.con", "contacts", [{"name": {"formatted_name": "Bo", "first_name": "Bo"}}], 5),
    ]
    response = await post_webhook(client, delivery(messages=messages))
    assert response.status_code == 200, response.text
    await run_jobs(resources)

    listing = await client.get("/api/v1/whatsapp_conversations", headers=project.headers)
    check("/whatsapp_conversations", listing)
    (conversation,) = listing.json()["data"]
    assert conversation["contact_name"] == "Ada" and conversation["phone_number"] == f"+{sender}"
    url = f"/api/v1/whatsapp_conversations/{conversation['id']}/whatsapp_messages"
    reply = await client.post(url, headers=project.headers, json={"message": {"content": "ok"}})
    assert reply.status_code == 201, reply.text
    await run_jobs(resources)

    path = "/whatsapp_conversations/{conversation_id}/whatsapp_messages"
    shown = await client.get(url, headers=project.headers)
    check_messages(path, shown)
    data = shown.json()["data"]
    assert [m["direction"] for m in data] == ["outbound"] + ["inbound"] * 6
    assert data[0]["status"] == "sent" and data[0]["whatsapp_message_id"]
    assert data[-1]["message_type_data"] == {"text": "hi"}
    assert data[-2]["message_type_data"] == {"reply_option_id": "yes", "reply_option_title": "Yes"}
