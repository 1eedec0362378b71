"""The /_sandbox control plane, rate limits, latency and the loud 501 catch-all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from threadline.sandbox import ManualClock, SandboxState

MESSAGES = "/v23.0/100000000000001/messages"
GraphErrorCheck = Callable[[httpx.Response, int, int], dict[str, Any]]


def text(to: str, body: str = "hi") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


async def test_health_reports_identity(client: httpx.AsyncClient, state: SandboxState) -> None:
    response = await client.get("/_sandbox/health")

    assert response.json() == {
        "status": "ok",
        "boot_id": state.boot_id,
        "phone_number_id": "100000000000001",
        "waba_id": "200000000000001",
        "outbox_count": 0,
    }


async def test_outbox_filters_by_recipient_input_or_digits(client: httpx.AsyncClient) -> None:
    await client.post(MESSAGES, json=text("+1 555 010 0001", "a"))
    await client.post(MESSAGES, json=text("15550100002", "b"))
    await client.post(MESSAGES, json=text("+15550100001", "c"))

    async def bodies(to: str) -> list[str]:
        outbox = (await client.get("/_sandbox/outbox", params={"to": to})).json()
        assert outbox["count"] == len(outbox["data"])
        return [entry["payload"]["text"]["body"] for entry in outbox["data"]]

    assert await bodies("+15550100001") == ["a", "c"]
    assert await bodies("15550100001") == ["a", "c"]
    assert await bodies("+1 555 010 0001") == ["a", "c"]
    assert await bodies("+15550100002") == ["b"]
    assert await bodies("+19999999999") == []
    assert (await client.get("/_sandbox/outbox")).json()["count"] == 3


async def test_outbox_filters_by_since(client: httpx.AsyncClient, state: SandboxState) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    now = [start]
    state.wall_clock = lambda: now[0]  # status timers read the clock too
    for minute, body in enumerate(("first", "second", "third")):
        now[0] = start + timedelta(minutes=minute)
        await client.post(MESSAGES, json=text("15550100001", body))

    since = (start + timedelta(minutes=1)).isoformat()
    outbox = (await client.get("/_sandbox/outbox", params={"since": since})).json()
    naive = (await client.get("/_sandbox/outbox", params={"since": "2030-01-01T00:02:00"})).json()

    assert [e["payload"]["text"]["body"] for e in outbox["data"]] == ["second", "third"]
    assert outbox["data"][0]["received_at"] == "2030-01-01T00:01:00Z"
    assert [e["payload"]["text"]["body"] for e in naive["data"]] == ["third"]


async def test_outbox_rejects_unparseable_since(client: httpx.AsyncClient) -> None:
    response = await client.get("/_sandbox/outbox", params={"since": "yesterday"})

    assert response.status_code == 422


async def test_delete_outbox_clears_it(client: httpx.AsyncClient) -> None:
    await client.post(MESSAGES, json=text("15550100001"))

    assert (await client.delete("/_sandbox/outbox")).json() == {"cleared": 1}
    assert (await client.get("/_sandbox/outbox")).json() == {"data": [], "count": 0}


async def test_injected_failures_fire_then_recover(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    rule = {"times": 2, "code": 131000, "http_status": 500, "message": "Something broke"}
    assert (await client.post("/_sandbox/failures", json=rule)).status_code == 200

    failures = [await client.post(MESSAGES, json=text("15550100001")) for _ in range(2)]
    recovered = await client.post(MESSAGES, json=text("15550100001"))

    for failure in failures:
        assert failure.status_code == 500
        error = failure.json()["error"]
        assert (error["code"], error["message"]) == (131000, "(#131000) Something broke")
        assert error["error_data"] == {
            "messaging_product": "whatsapp",
            "details": "Something broke",
        }
    assert recovered.status_code == 200
    assert [entry.id for entry in state.outbox] == [recovered.json()["messages"][0]["id"]]
    assert (await client.get("/_sandbox/failures")).json() == {"data": []}


async def test_injected_failure_defaults_to_undeliverable(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    await client.post("/_sandbox/failures", json={})

    error = graph_error(await client.post(MESSAGES, json=text("15550100001")), 400, 131026)

    assert error["message"] == "(#131026) Message undeliverable"


async def test_injected_failure_can_target_one_recipient(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/failures", json={"to": "+1 555 010 0002", "code": 131047})

    other = await client.post(MESSAGES, json=text("15550100001"))
    target = await client.post(MESSAGES, json=text("+15550100002"))
    again = await client.post(MESSAGES, json=text("+15550100002"))

    assert (other.status_code, target.status_code, again.status_code) == (200, 400, 200)
    assert target.json()["error"]["code"] == 131047


async def test_injected_failures_do_not_hit_invalid_requests_or_reads(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/_sandbox/failures", json={"code": 131000, "http_status": 503})
    invalid = await client.post(MESSAGES, json=text(""))
    read = await client.post(
        MESSAGES, json={"messaging_product": "whatsapp", "status": "read", "message_id": "m"}
    )
    send = await client.post(MESSAGES, json=text("15550100001"))

    assert invalid.json()["error"]["code"] == 100
    assert read.status_code == 200
    assert send.status_code == 503


async def test_clearing_failures(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/failures", json={"times": 5})

    assert (await client.delete("/_sandbox/failures")).json() == {"cleared": 1}
    assert (await client.post(MESSAGES, json=text("15550100001"))).status_code == 200


@pytest.mark.parametrize(
    "rule", [{"times": 0}, {"http_status": 200}, {"code": "x"}, {"unknown": True}]
)
async def test_bad_failure_rules_are_rejected(
    client: httpx.AsyncClient, rule: dict[str, Any]
) -> None:
    assert (await client.post("/_sandbox/failures", json=rule)).status_code == 422


async def test_pair_rate_limit(
    client: httpx.AsyncClient, clock: ManualClock, graph_error: GraphErrorCheck
) -> None:
    settings = (await client.post("/_sandbox/config", json={"pair_rate_limit": True})).json()
    assert settings["pair_rate_limit"] is True

    first = await client.post(MESSAGES, json=text("15550100001"))
    clock.advance(5.9)
    too_soon = await client.post(MESSAGES, json=text("+15550100001"))
    other_user = await client.post(MESSAGES, json=text("15550100002"))
    clock.advance(0.2)
    later = await client.post(MESSAGES, json=text("15550100001"))

    assert first.status_code == other_user.status_code == later.status_code == 200
    graph_error(too_soon, 400, 131056)


async def test_pair_rate_limit_is_off_by_default(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    responses = [await client.post(MESSAGES, json=text("15550100001")) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]


async def test_throughput_token_bucket(
    client: httpx.AsyncClient, clock: ManualClock, state: SandboxState, graph_error: GraphErrorCheck
) -> None:
    await client.post("/_sandbox/config", json={"throughput_limit": True, "throughput_mps": 3})

    burst = [await client.post(MESSAGES, json=text(f"1555010000{i}")) for i in range(4)]
    clock.advance(1 / 3)
    refilled = await client.post(MESSAGES, json=text("15550100009"))

    assert [r.status_code for r in burst[:3]] == [200, 200, 200]
    graph_error(burst[3], 400, 130429)
    assert refilled.status_code == 200
    assert len(state.outbox) == 4


async def test_throughput_defaults_to_80_mps(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await client.post("/_sandbox/config", json={"throughput_limit": True})

    statuses = [
        (await client.post(MESSAGES, json=text("15550100001"))).status_code for _ in range(81)
    ]

    assert statuses.count(200) == 80 and statuses[-1] == 400


async def test_latency_delays_the_answer_after_recording(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    await client.post(MESSAGES, json=text("15550100009"))  # a fresh app's first call is slow
    await client.post("/_sandbox/config", json={"latency_ms": 300})

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.post(MESSAGES, json=text("15550100001")), timeout=0.05)

    assert [entry.wa_id for entry in state.outbox] == ["15550100009", "15550100001"]


@pytest.mark.parametrize(
    "patch",
    [{"latency_ms": -1}, {"template_review": "MAYBE"}, {"nonsense": 1}, {"throughput_mps": 0}],
)
async def test_invalid_config_is_rejected(
    client: httpx.AsyncClient, state: SandboxState, patch: dict[str, Any]
) -> None:
    before = (await client.get("/_sandbox/config")).json()

    response = await client.post("/_sandbox/config", json=patch)

    assert response.status_code == 422
    assert (await client.get("/_sandbox/config")).json() == before


async def test_reset_restores_boot_configuration(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    first_id = (await client.post(MESSAGES, json=text("15550100001"))).json()["messages"][0]["id"]
    await client.post("/_sandbox/failures", json={"times": 3})
    await client.post("/_sandbox/config", json={"latency_ms": 5, "template_review": "REJECTED"})
    await client.delete("/v23.0/200000000000001/message_templates", params={"name": "hello_world"})

    assert (await client.post("/_sandbox/reset")).json() == {
        "reset": True,
        "boot_id": state.boot_id,
    }

    assert state.outbox == [] and state.failures == []
    assert state.settings.latency_ms == 0 and state.settings.template_review == "APPROVED"
    assert state.find_template("hello_world", "en_US") is not None
    after = await client.post(MESSAGES, json=text("15550100001"))
    assert after.json()["messages"][0]["id"] != first_id


async def test_concurrent_sends_keep_the_outbox_consistent(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    await client.post("/_sandbox/config", json={"latency_ms": 10})

    responses = await asyncio.gather(
        *(client.post(MESSAGES, json=text("15550100001", str(i))) for i in range(50))
    )

    ids = [response.json()["messages"][0]["id"] for response in responses]
    assert len(set(ids)) == 50
    assert sorted(entry.id for entry in state.outbox) == sorted(ids)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("POST", "/v23.0/100000000000001/register"),
        ("PUT", "/v23.0/100000000000001/messages"),
        ("GET", "/v23.0/100000000000001/messages"),
        ("POST", "/v23.0/200000000000001/assigned_users"),
        ("PATCH", "/_sandbox/outbox"),
        ("GET", "/_sandbox/unknown"),
        ("DELETE", "/v23.0/1234/phone_numbers"),
    ],
)
async def test_unemulated_routes_are_loud_501s(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)

    assert response.status_code == 501
    assert response.json() == {
        "error": {
            "message": f"Not implemented in the Threadline sandbox: {method} {path}",
            "type": "NotImplemented",
            "code": 501,
        }
    }


async def test_control_plane_docs_are_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/_sandbox/openapi.json")).json()

    assert "/_sandbox/outbox" in schema["paths"]
