"""The MCP SDK's httpx2 client through our egress-checked client: the policy holds
(the bridge itself is tested in tests/kit/test_httpx2_bridge.py)."""

from __future__ import annotations

import httpx
import pytest

from threadline.kit.egress import EgressRefused
from threadline.kit.httpx2_bridge import sdk_client
from tool_receiver import Receiver


async def test_the_egress_policy_applies(
    receiver: Receiver, strict_calls: httpx.AsyncClient
) -> None:
    async with sdk_client(strict_calls) as sdk:
        with pytest.raises(EgressRefused, match="loopback"):
            await sdk.get(receiver.url("/x"))
    assert receiver.requests == []


async def test_the_default_timeout_is_the_clients(calls: httpx.AsyncClient) -> None:
    async with sdk_client(calls) as sdk:
        assert sdk.timeout.read == calls.timeout.read == 10.0
    async with sdk_client(calls, timeout=3) as sdk:
        assert sdk.timeout.connect == 3
