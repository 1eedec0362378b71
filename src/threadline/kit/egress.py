"""Where flow calls may connect: checked after DNS resolution, on every connection.

A flow author, or the contact answering a flow, must not be able to aim a webhook or a
function at this server's network: loopback, link-local (cloud metadata), private,
shared (CGNAT), multicast, unspecified and other non-global addresses are refused, and
so is this server's own address. ``THREADLINE_EGRESS_ALLOW`` lists exceptions:
CIDRs or addresses (``10.0.0.0/8``, ``127.0.0.1``), host names (``api.internal``) and
exact destinations (``127.0.0.1:8000``, the only way to allow this server itself).

The check sits in the connection layer (an httpcore network backend), so it applies to
every redirect hop and every new connection, and the socket is opened to the very
address that was checked: a DNS answer that changes between check and connect
(rebinding) cannot swap it.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from threadline.kit.tls import shared_ssl_context

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):
    """A flow call's destination is not allowed; the message says why."""


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is refused by default (``"loopback"``...), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal_reason(embedded)
    for reason, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", any(address in net for net in _PRIVATE) or _site_local(address)),
        ("shared address space (CGNAT)", address in _SHARED),
        ("not a public address", not address.is_global),
    ):
        if hit:
            return reason
    return None


def _site_local(address: IPAddress) -> bool:
    return isinstance(address, ipaddress.IPv6Address) and address.is_site_local


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _destination(entry: str) -> tuple[str, int] | None:
    """``host:port`` or ``[v6]:port`` as a pair; None for a bare host or address."""
    host, sep, port = entry.rpartition(":")
    if not sep or not port.isdigit() or (":" in host and not host.startswith("[")):
        return None
    return _host_key(host), int(port)


@dataclass(frozen=True)
class EgressPolicy:
    """The allow-list and this server's own address; decides each connection."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    destinations: frozenset[tuple[str, int]] = frozenset()
    own: frozenset[tuple[str, int]] = frozenset()
    own_port_on_every_address: int | None = None
    local_addresses: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls, allow: str, *, host: str = "", port: int | None = None, public_url: str = ""
    ) -> EgressPolicy:
        """A policy from ``THREADLINE_EGRESS_ALLOW`` and where this server listens."""
        networks, hosts, destinations = _parse_allow(allow)
        own, every = _own_addresses(host, port, public_url)
        local = _local_addresses() if every is not None else frozenset()
        return cls(networks, hosts, destinations, own, every, local)

    def check_name(self, host: str, port: int) -> str | None:
        """Before DNS: ``"exact"`` for an allowed ``host:port`` (no address check follows),
        ``"host"`` for an allowed host name (only the own-address check follows), else None.

        Raises :class:`EgressRefused` for this server's own public name.
        """
        key = _host_key(host)
        if (key, port) in self.destinations:
            return "exact"
        if (key, port) in self.own:
            raise EgressRefused(f"egress refused: {host}:{port} is this server's own address")
        return "host" if key in self.hosts else None

    def check_address(
        self, host: str, address: IPAddress, port: int, *, named: str | None = None
    ) -> None:
        """Raise :class:`EgressRefused` unless ``host`` may be reached at ``address``."""
        text = str(address)
        if named == "exact" or (text, port) in self.destinations:
            return
        if self._is_own(address, port):
            raise EgressRefused(f"egress refused: {text}:{port} is this server's own address")
        if named or any(address in network for network in self.networks):
            return
        reason = refusal_reason(address)
        if reason is not None:
            subject = text if _host_key(host) == text else f"{host} resolves to {text}, which"
            raise EgressRefused(f"egress refused: {subject} is {reason}")

    def _is_own(self, address: IPAddress, port: int) -> bool:
        if (str(address), port) in self.own:
            return True
        if port != self.own_port_on_every_address:
            return False
        return address.is_loopback or str(address) in self.local_addresses


def _parse_allow(
    allow: str,
) -> tuple[tuple[IPNetwork, ...], frozenset[str], frozenset[tuple[str, int]]]:
    """Split the allow-list into networks, host names and exact ``host:port`` pairs."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    destinations: set[tuple[str, int]] = set()
    for entry in filter(None, (e.strip() for e in allow.split(","))):
        if (pair := _destination(entry)) is not None:
            destinations.add(pair)
        elif (network := _network(entry)) is not None:
            networks.append(network)
        else:
            hosts.add(_host_key(entry))
    return tuple(networks), frozenset(hosts), frozenset(destinations)


def _network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        if "/" in entry:
            raise ValueError(f"THREADLINE_EGRESS_ALLOW: {entry!r} is not a CIDR") from None
        return None


def _own_addresses(
    host: str, port: int | None, public_url: str
) -> tuple[frozenset[tuple[str, int]], int | None]:
    own: set[tuple[str, int]] = set()
    every: int | None = None
    if port is not None and host:
        key = _host_key(host)
        if key in ("0.0.0.0", "::", ""):
            every = port
        else:
            own.add((key, port))
            own.update((str(a), port) for a in _loopback_aliases(key))
    if public_url:
        parts = urlsplit(public_url)
        if parts.hostname:
            default = 443 if parts.scheme == "https" else 80
            own.add((_host_key(parts.hostname), parts.port or default))
    return frozenset(own), every


def _loopback_aliases(host: str) -> Iterable[IPAddress]:
    if host == "localhost":
        return (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
    return ()


def _local_addresses() -> frozenset[str]:
    """This machine's own addresses (as its host name resolves), for a server on 0.0.0.0."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return frozenset()
    return frozenset(str(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos)


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked address."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open a TCP connection to an allowed address of ``host``."""
        addresses = await self._checked_addresses(host, port, timeout)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None
        raise error

    async def _checked_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        named = self._policy.check_name(host, port)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except socket.gaierror as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            self._policy.check_address(host, address, port, named=named)
        return addresses

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Never: flow calls go over TCP only."""
        raise EgressRefused("egress refused: unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Sleep (used by httpcore's connect retries)."""
        await self._inner.sleep(seconds)


class EgressTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose connections go through :class:`CheckedNetworkBackend`."""

    def __init__(self, policy: EgressPolicy, *, limits: httpx.Limits) -> None:
        context = shared_ssl_context(trust_env=False)
        super().__init__(verify=context, limits=limits, trust_env=False)
        # httpx takes no network backend; its pool is rebuilt with ours (same settings).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedNetworkBackend(policy),
        )


def no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that never stores a cookie, so no call carries another's cookie."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


async def _same_host_only(request: httpx.Request) -> None:
    """Refuse a redirect hop to another host: the flow's headers (API keys) stay home."""
    # A redirect's request shares the first request's extensions dict.
    first = request.extensions.setdefault("threadline.first_host", request.url.host)
    if request.url.host != first:
        raise EgressRefused(
            f"egress refused: a redirect to another host ({request.url.host}) is not followed"
        )


def calls_client(
    policy: EgressPolicy, *, timeout: float, limits: httpx.Limits
) -> httpx.AsyncClient:
    """The client of flow calls: egress-checked, cookie-less, no proxy from the environment.

    Redirects on the same host are followed (at most 5; each hop connects through the
    same check); a redirect to another host is refused, since it would carry the
    flow's headers there.
    """
    return httpx.AsyncClient(
        transport=EgressTransport(policy, limits=limits),
        cookies=no_cookies(),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
        timeout=timeout,
        event_hooks={"request": [_same_host_only]},
    )


async def url_refusal(policy: EgressPolicy, url: str, *, timeout: float = 2.0) -> str | None:
    """Why a URL saved for later calls (a webhook's) is refused now, or None.

    The name is resolved as a connection would resolve it; a name that does not
    resolve yet is let through (every connection is checked again when it is made).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        named = policy.check_name(host, port)
        for address in await _resolve(host, port, timeout):
            policy.check_address(host, address, port, named=named)
    except EgressRefused as refused:
        return str(refused)
    return None


async def _resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (TimeoutError, OSError):
        return []
    texts = dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos)
    return [ipaddress.ip_address(text) for text in texts]
