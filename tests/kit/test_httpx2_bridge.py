"""The httpx2 client of the SDKs sends through our httpx client."""

from __future__ import annotations

import gzip
import json

import httpx
import httpx2
import pytest

from threadline.kit.httpx2_bridge import sdk_client


def _echo(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.dumps({"path": request.url.path, "got": request.content.decode()}).encode()
        return httpx.Response(
            201,
            headers={"content-encoding": "gzip", "x-request-id": "req-1"},
            content=gzip.compress(body),
        )

    return httpx.MockTransport(handle)


async def test_requests_go_through_our_client_and_answers_come_back() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=_echo(seen), timeout=7) as ours:
        async with sdk_client(ours) as theirs:
            answer = await theirs.post(
                "https://api.example.test/v1/x?a=1", json={"q": 1}, headers={"x-k": "v"}
            )
        assert not ours.is_closed  # closing the SDK's client leaves ours open
    assert isinstance(answer, httpx2.Response)
    assert answer.status_code == 201
    assert answer.json() == {"path": "/v1/x", "got": '{"q":1}'}  # gzip decoded once
    assert answer.headers["x-request-id"] == "req-1"
    (request,) = seen
    assert str(request.url) == "https://api.example.test/v1/x?a=1"
    assert request.headers["x-k"] == "v"
    assert request.extensions["timeout"] == httpx.Timeout(7).as_dict()


async def test_a_given_timeout_wins() -> None:
    seen: list[httpx.Request] = []
    ours = httpx.AsyncClient(transport=_echo(seen), timeout=7)
    async with ours, sdk_client(ours, timeout=1.5) as theirs:
        await theirs.get("https://api.example.test/")
    assert seen[0].extensions["timeout"]["read"] == 1.5


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (httpx.ConnectError, httpx2.ConnectError),
        (httpx.ReadTimeout, httpx2.ReadTimeout),
        (httpx.ConnectTimeout, httpx2.ConnectTimeout),
        (httpx.RemoteProtocolError, httpx2.RemoteProtocolError),
    ],
)
async def test_transport_errors_become_httpx2s(
    ours: type[httpx.TransportError], theirs: type[httpx2.TransportError]
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise ours("boom", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(fail))
    async with client, sdk_client(client) as sdk:
        with pytest.raises(theirs, match="boom"):
            await sdk.get("https://api.example.test/")


async def test_streamed_answers_stream(model_server_live: tuple[str, object]) -> None:
    url = model_server_live[0] + "/_control/health"
    ours = httpx.AsyncClient()
    async with ours, sdk_client(ours) as theirs, theirs.stream("GET", url) as answer:
        chunks = [chunk async for chunk in answer.aiter_bytes()]
    assert json.loads(b"".join(chunks)) == {"status": "ok"}


def _redirecting() -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(307, headers={"location": "https://elsewhere.test/new"})
        return httpx.Response(200, json={"at": str(request.url)})

    return httpx.MockTransport(handle)


async def test_redirects_follow_our_clients_rules() -> None:
    refused: list[str] = []

    async def other_host_refused(request: httpx.Request) -> None:
        if request.url.host != "api.example.test":
            refused.append(request.url.host)
            raise RuntimeError("another host")

    follows = httpx.AsyncClient(transport=_redirecting(), follow_redirects=True)
    async with follows, sdk_client(follows) as theirs:
        answer = await theirs.get("https://api.example.test/old")
    assert answer.json() == {"at": "https://elsewhere.test/new"}
    stays = httpx.AsyncClient(transport=_redirecting())
    async with stays, sdk_client(stays) as theirs:
        assert (await theirs.get("https://api.example.test/old")).status_code == 307
    hooks = {"request": [other_host_refused]}
    guarded = httpx.AsyncClient(transport=_redirecting(), follow_redirects=True, event_hooks=hooks)
    async with guarded, sdk_client(guarded) as theirs:
        with pytest.raises(RuntimeError, match="another host"):
            await theirs.get("https://api.example.test/old")
    assert refused == ["elsewhere.test"]
