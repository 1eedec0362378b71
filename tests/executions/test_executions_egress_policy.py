"""The egress policy's address rules and allow-list, without the network."""

from __future__ import annotations

import ipaddress
import re

import pytest

from threadline.kit.egress import EgressPolicy, EgressRefused, refusal_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "shared address space (CGNAT)"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a00:1::", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("192.0.2.1", "not a public address"),
        ("240.0.0.1", "not a public address"),
        ("8.8.8.8", None),
        ("172.32.0.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_refusal_reasons(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def _check(policy: EgressPolicy, host: str, address: str, port: int = 443) -> None:
    named = policy.check_name(host, port)
    policy.check_address(host, ipaddress.ip_address(address), port, named=named)


def test_the_allow_list_takes_networks_names_and_destinations() -> None:
    policy = EgressPolicy.build(" 10.0.0.0/8 , 127.0.0.1, Internal.Example., [::1]:9000 ,")
    _check(policy, "10.2.3.4", "10.2.3.4")
    _check(policy, "127.0.0.1", "127.0.0.1")
    _check(policy, "internal.example", "192.168.0.7")
    _check(policy, "::1", "::1", 9000)
    for host, address in (("127.0.0.2", "127.0.0.2"), ("::1", "::1"), ("x.example", "192.168.0.1")):
        with pytest.raises(EgressRefused):
            _check(policy, host, address)
    with pytest.raises(ValueError, match="CIDR"):
        EgressPolicy.build("10.0.0.0/33")


def test_this_servers_own_address_is_refused_unless_named_exactly() -> None:
    policy = EgressPolicy.build(
        "127.0.0.0/8", host="0.0.0.0", port=8000, public_url="https://tl.example.com"
    )
    _check(policy, "127.0.0.1", "127.0.0.1", 8001)
    with pytest.raises(EgressRefused, match="own address"):
        _check(policy, "127.0.0.1", "127.0.0.1", 8000)
    with pytest.raises(EgressRefused, match="own address"):
        _check(policy, "tl.example.com", "8.8.8.8", 443)
    allowed = EgressPolicy.build("127.0.0.1:8000,localhost:8000", host="127.0.0.1", port=8000)
    _check(allowed, "127.0.0.1", "127.0.0.1", 8000)
    _check(allowed, "localhost", "127.0.0.1", 8000)
    with pytest.raises(EgressRefused, match="own address"):
        by_name = EgressPolicy.build("localhost", host="127.0.0.1", port=8000)
        _check(by_name, "localhost", "127.0.0.1", 8000)


def test_a_name_is_refused_for_any_refused_address_it_resolves_to() -> None:
    policy = EgressPolicy.build("")
    _check(policy, "public.example", "8.8.8.8")
    with pytest.raises(
        EgressRefused, match=re.escape("rebind.example resolves to 10.0.0.1, which is private")
    ):
        _check(policy, "rebind.example", "10.0.0.1")
