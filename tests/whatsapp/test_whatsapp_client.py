"""WhatsAppClient over httpx.MockTransport: requests sent and failures mapped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from threadline.whatsapp import (
    DeliveryNotAttempted,
    DeliveryOutcomeUnknown,
    PermanentGraphError,
    TransientGraphError,
    WhatsAppClient,
    WhatsAppError,
    text_message,
)

Handler = Callable[[httpx.Request], httpx.Response]
SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+15550100001", "wa_id": "15550100001"}],
    "messages": [{"id": "wamid.ABC"}],
}


MakeClient = Callable[..., WhatsAppClient]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Builds clients over MockTransport handlers and closes their httpx clients afterwards."""
    opened: list[httpx.AsyncClient] = []

    def build(handler: Handler, **kwargs: Any) -> WhatsAppClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        opened.append(http)
        options = {
            "base_url": "https://graph.test/",
            "phone_number_id": "123",
            "access_token": "tok",
        }
        return WhatsAppClient(http, **(options | kwargs))

    yield build
    for http in opened:
        await http.aclose()


def raising(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


async def test_send_message_posts_payload_with_bearer_auth(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SUCCESS)

    payload = text_message("+15550100001", "hi")
    result = await make_client(handler).send_message(payload)

    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "https://graph.test/v23.0/123/messages")
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == payload
    assert (result.message_id, result.wa_id, result.input) == (
        "wamid.ABC",
        "15550100001",
        "+15550100001",
    )


async def test_api_version_is_configurable(make_client: MakeClient) -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json=SUCCESS)

    await make_client(handler, api_version="v25.0").send_message(text_message("1555", "x"))

    assert urls == ["https://graph.test/v25.0/123/messages"]


async def test_graph_400_is_permanent_with_fields(make_client: MakeClient) -> None:
    error_body = {
        "error": {
            "message": "(#131009) Parameter value is not valid",
            "type": "OAuthException",
            "code": 131009,
            "error_data": {"messaging_product": "whatsapp", "details": "title too long"},
            "fbtrace_id": "Atrace",
        }
    }
    client = make_client(lambda request: httpx.Response(400, json=error_body))

    with pytest.raises(PermanentGraphError) as caught:
        await client.send_message(text_message("1555", "x"))

    error = caught.value
    assert (error.http_status, error.code, error.details, error.fbtrace_id) == (
        400,
        131009,
        "title too long",
        "Atrace",
    )
    assert error.body == error_body


@pytest.mark.parametrize(
    ("status", "content"),
    [(500, b'{"error": {"code": 131000, "message": "x"}}'), (429, b"slow down"), (503, b"")],
)
async def test_server_and_throttling_errors_are_transient(
    make_client: MakeClient, status: int, content: bytes
) -> None:
    client = make_client(lambda request: httpx.Response(status, content=content))

    with pytest.raises(TransientGraphError) as caught:
        await client.send_message(text_message("1555", "x"))

    assert caught.value.http_status == status and caught.value.retryable


async def test_redirects_are_not_followed_and_surface_as_errors(make_client: MakeClient) -> None:
    client = make_client(lambda r: httpx.Response(302, headers={"location": "https://evil.test"}))

    with pytest.raises(PermanentGraphError) as caught:
        await client.send_message(text_message("1555", "x"))

    assert caught.value.http_status == 302


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol]
)
async def test_failures_before_sending_are_not_attempted(
    make_client: MakeClient,
    exc: type[httpx.TransportError],
) -> None:
    with pytest.raises(DeliveryNotAttempted) as caught:
        await make_client(raising(exc)).send_message(text_message("1555", "x"))

    assert isinstance(caught.value.__cause__, exc)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.CloseError,
        httpx.ProxyError,
    ],
)
async def test_failures_after_sending_began_are_outcome_unknown(
    make_client: MakeClient,
    exc: type[httpx.TransportError],
) -> None:
    with pytest.raises(DeliveryOutcomeUnknown) as caught:
        await make_client(raising(exc)).send_message(text_message("1555", "x"))

    assert isinstance(caught.value.__cause__, exc)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"<html>ok</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"success": True}),
        httpx.Response(200, json={"messages": [{}]}),
    ],
)
async def test_success_without_message_id_is_outcome_unknown(
    make_client: MakeClient, response: httpx.Response
) -> None:
    client = make_client(lambda request: response)

    with pytest.raises(DeliveryOutcomeUnknown):
        await client.send_message(text_message("1555", "x"))


async def test_send_message_refuses_read_receipts(make_client: MakeClient) -> None:
    client = make_client(lambda request: httpx.Response(200, json={"success": True}))

    with pytest.raises(ValueError, match="mark_read"):
        await client.send_message({"messaging_product": "whatsapp", "status": "read"})


async def test_mark_read_posts_a_read_receipt(make_client: MakeClient) -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"success": True})

    await make_client(handler).mark_read("wamid.IN", typing_indicator=True)

    assert bodies == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.IN",
            "typing_indicator": {"type": "text"},
        }
    ]


async def test_list_templates_follows_cursor_pagination(make_client: MakeClient) -> None:
    pages = {
        None: {
            "data": [{"name": "a"}],
            "paging": {"cursors": {"after": "c1"}, "next": "https://x"},
        },
        "c1": {
            "data": [{"name": "b"}],
            "paging": {"cursors": {"after": "c2"}, "next": "https://x"},
        },
        "c2": {"data": [{"name": "c"}], "paging": {"cursors": {"after": "c3"}}},
    }
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    templates = await make_client(handler).list_templates("waba")

    assert [t["name"] for t in templates] == ["a", "b", "c"]
    assert {r.url.path for r in requests} == {"/v23.0/waba/message_templates"}


async def test_list_templates_stops_on_a_repeated_cursor(make_client: MakeClient) -> None:
    page = {"data": [{"name": "a"}], "paging": {"cursors": {"after": "same"}, "next": "https://x"}}
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=page)

    templates = await make_client(handler).list_templates("waba")

    assert len(calls) == 2 and len(templates) == 2


async def test_list_templates_gives_up_on_endless_paging(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after", "0")) + 1
        return httpx.Response(
            200, json={"data": [], "paging": {"cursors": {"after": str(after)}, "next": "n"}}
        )

    with pytest.raises(WhatsAppError, match="pages"):
        await make_client(handler).list_templates("waba")


async def test_create_and_delete_template(make_client: MakeClient) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            return httpx.Response(200, json={"id": "1", "status": "PENDING", "category": "UTILITY"})
        return httpx.Response(200, json={"success": True})

    client = make_client(handler)
    created = await client.create_template("waba", {"name": "t"})
    await client.delete_template("waba", "t")

    assert created == {"id": "1", "status": "PENDING", "category": "UTILITY"}
    assert json.loads(requests[0].content) == {"name": "t"}
    assert (requests[1].method, requests[1].url.params["name"]) == ("DELETE", "t")
