"""The model SDKs' HTTP client, carried by ours.

The ``openai``, ``anthropic`` and ``mcp`` SDKs speak ``httpx2`` (a fork of httpx with
the same API) while Threadline speaks ``httpx``. :func:`sdk_client` gives an SDK an
``httpx2.AsyncClient`` whose transport hands every request to one of our
``httpx.AsyncClient`` s, so SDK calls share that client's connection pool, its TLS
context (``kit/tls.py``) and, for the egress-checked client of ``kit/resources.py``,
its connection policy and redirect rules. The SDK keeps its own retries and timeouts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import httpx2

from threadline.kit.egress import no_cookies

#: httpx's transport errors and their httpx2 twins (the SDKs catch httpx2's).
_ERRORS: tuple[tuple[type[httpx.TransportError], type[httpx2.TransportError]], ...] = (
    (httpx.ConnectTimeout, httpx2.ConnectTimeout),
    (httpx.ReadTimeout, httpx2.ReadTimeout),
    (httpx.WriteTimeout, httpx2.WriteTimeout),
    (httpx.PoolTimeout, httpx2.PoolTimeout),
    (httpx.ConnectError, httpx2.ConnectError),
    (httpx.ReadError, httpx2.ReadError),
    (httpx.WriteError, httpx2.WriteError),
    (httpx.CloseError, httpx2.CloseError),
    (httpx.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpx.LocalProtocolError, httpx2.LocalProtocolError),
    (httpx.ProxyError, httpx2.ProxyError),
    (httpx.UnsupportedProtocol, httpx2.UnsupportedProtocol),
    (httpx.TimeoutException, httpx2.TimeoutException),
    (httpx.NetworkError, httpx2.NetworkError),
    (httpx.ProtocolError, httpx2.ProtocolError),
)


def twin_error(error: httpx.TransportError) -> httpx2.TransportError:
    """The httpx2 exception an httpx2 transport would have raised for ``error``."""
    for ours, theirs in _ERRORS:
        if isinstance(error, ours):
            return theirs(str(error))
    return httpx2.TransportError(str(error))


class _BridgeStream(httpx2.AsyncByteStream):
    """An httpx response's raw bytes as an httpx2 stream (httpx2 decodes them)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.TransportError as error:
            raise twin_error(error) from error

    async def aclose(self) -> None:
        await self._response.aclose()


class BridgeTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport that sends through an ``httpx.AsyncClient`` it does not own."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Forward ``request`` (its timeouts travel in its extensions) and stream back."""
        body = await request.aread()
        outgoing = httpx.Request(
            request.method,
            str(request.url),
            headers=request.headers.raw,
            content=body,
            extensions=request.extensions,
        )
        try:
            # Redirects are ours to follow, under our client's rules and request hooks
            # (the egress client refuses a hop to another host).
            response = await self._client.send(outgoing, stream=True)
        except httpx.TransportError as error:
            raise twin_error(error) from error
        if response.is_stream_consumed:
            return _already_read(response)
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers.raw,
            stream=_BridgeStream(response),
            extensions={"http_version": response.http_version.encode()},
        )

    async def aclose(self) -> None:
        """Nothing: the httpx client belongs to its creator (``Resources``)."""


def _already_read(response: httpx.Response) -> httpx2.Response:
    """A response a transport gave already read (``httpx.MockTransport``): its bytes
    are decoded, so the headers describing the encoded body are dropped."""
    encoded = ("content-encoding", "content-length", "transfer-encoding")
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in encoded]
    return httpx2.Response(response.status_code, headers=headers, content=response.content)


def _timeout(client: httpx.AsyncClient, timeout: float | httpx2.Timeout | None) -> httpx2.Timeout:
    if isinstance(timeout, httpx2.Timeout):
        return timeout
    if timeout is not None:
        return httpx2.Timeout(timeout)
    return httpx2.Timeout(**client.timeout.as_dict())


def sdk_client(
    client: httpx.AsyncClient, *, timeout: float | httpx2.Timeout | None = None
) -> httpx2.AsyncClient:
    """An httpx2 client for an SDK's ``http_client=``, sending through ``client``.

    ``timeout`` (seconds for each phase of a request, or an ``httpx2.Timeout``) defaults
    to ``client``'s.
    Redirects are followed (or not) by ``client``, as its own requests are. Closing the
    returned client leaves ``client`` open.
    """
    return httpx2.AsyncClient(
        transport=BridgeTransport(client),
        timeout=_timeout(client, timeout),
        follow_redirects=False,
        cookies=no_cookies(),
        trust_env=False,
    )
