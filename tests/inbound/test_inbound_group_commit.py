"""Group commit: concurrent deliveries stored in one transaction, each delivery on its own.

The group window is long here (300 ms), so every delivery posted at once lands in one
group; the group's counter says how many transactions stored groups.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from builders import create_project, delivery, inbound_text, run_jobs, signed
from threadline.app import create_app
from threadline.config import Settings
from threadline.inbound import ingest
from threadline.inbound.group import GroupCommit
from threadline.kit.resources import Resources
from threadline.models import InboundWebhook, Project, WhatsappMessage

pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A group window long enough that deliveries posted together share one group."""
    return settings.model_copy(update={"ingest_group_window_ms": 300})


@pytest.fixture
async def app(settings: Settings, resources: Resources) -> FastAPI:
    return create_app(settings, resources)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _group(app: FastAPI) -> GroupCommit:
    group: GroupCommit = app.state.ingest_group
    return group


def _text_delivery(wamid: str, sender: str, text: str = "hi") -> bytes:
    raw, _ = signed(delivery(messages=[inbound_text(wamid, text, sender=sender)]))
    return raw


async def _post_all(http: httpx.AsyncClient, bodies: list[bytes]) -> list[httpx.Response]:
    async def post(raw: bytes) -> httpx.Response:
        _, headers = signed(raw)
        return await http.post("/webhooks/whatsapp", content=raw, headers=headers)

    return list(await asyncio.gather(*(post(body) for body in bodies)))


async def _rows(resources: Resources, model: type[Any]) -> list[Any]:
    async with resources.db.session() as session:
        return list((await session.execute(select(model))).scalars())


async def _inbound_wamids(resources: Resources) -> list[str]:
    return sorted(m.wamid for m in await _rows(resources, WhatsappMessage))


async def test_a_malformed_delivery_and_a_malformed_item_cost_only_themselves(
    app: FastAPI,
    http: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await create_project(resources, sandbox_url)
    good = [_text_delivery(f"wamid.g{n}", f"1555000100{n}") for n in range(3)]
    bad_item = delivery(messages=[{"from": "not-a-phone", "id": "wamid.bad", "type": "text"}])
    bodies = [*good, signed(bad_item)[0], b"{not json", b'{"object": "page", "entry": []}']

    answers = await _post_all(http, bodies)

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 422], [
        a.text for a in answers
    ]
    assert _group(app).groups == 1
    assert "not stored at once" not in caplog.text, "the set-based store took the group"
    assert await _inbound_wamids(resources) == ["wamid.g0", "wamid.g1", "wamid.g2"]
    webhooks = await _rows(resources, InboundWebhook)
    assert len(webhooks) == 4 and {w.status for w in webhooks} == {"processed"}
    (with_error,) = [w for w in webhooks if w.errors]
    assert "messages[0]" in with_error.errors[0]["item"]


async def test_a_delivery_failing_mid_store_is_rolled_back_alone_and_answered_alone(
    app: FastAPI,
    http: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_project(resources, sandbox_url)
    finish = ingest.finish

    def fail_for_the_doomed_one(webhook: InboundWebhook, report: Any, now: Any) -> None:
        if "wamid.doomed" in webhook.body:  # its row and its message are written by now
            raise RuntimeError("the disk said no")
        finish(webhook, report, now)

    monkeypatch.setattr(ingest, "finish", fail_for_the_doomed_one)
    bodies = [_text_delivery(f"wamid.g{n}", f"1555000200{n}") for n in range(4)]
    bodies.insert(2, _text_delivery("wamid.doomed", "15550002099"))

    answers = await _post_all(http, bodies)

    assert [a.status_code for a in answers] == [200, 200, 500, 200, 200], [a.text for a in answers]
    assert answers[2].json()["error"] == "Delivery not stored"
    assert _group(app).groups == 1
    assert await _inbound_wamids(resources) == [f"wamid.g{n}" for n in range(4)]
    webhooks = await _rows(resources, InboundWebhook)
    assert len(webhooks) == 4 and not any("doomed" in w.body for w in webhooks)


async def test_a_group_whose_commit_fails_is_stored_delivery_by_delivery(
    app: FastAPI,
    http: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_project(resources, sandbox_url)
    commit = AsyncSession.commit
    failed: list[int] = []

    async def fail_the_first_group(session: AsyncSession) -> None:
        stored = await session.scalar(select(func.count()).select_from(InboundWebhook))
        if not failed and stored:
            failed.append(stored)
            raise ConnectionResetError("the connection dropped at commit")
        await commit(session)

    monkeypatch.setattr(AsyncSession, "commit", fail_the_first_group)
    bodies = [_text_delivery(f"wamid.c{n}", f"1555000300{n}") for n in range(5)]

    answers = await _post_all(http, bodies)

    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert failed == [5], "the group of five was the one that failed"
    assert _group(app).groups == 0, "no group committed: each was stored alone"
    assert await _inbound_wamids(resources) == [f"wamid.c{n}" for n in range(5)]
    assert len(await _rows(resources, InboundWebhook)) == 5


async def test_past_the_queue_limit_a_delivery_is_refused_with_a_503(
    settings: Settings, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    app = create_app(settings.model_copy(update={"ingest_queue_limit": 2}), resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        bodies = [_text_delivery(f"wamid.q{n}", f"1555000400{n}") for n in range(4)]
        answers = await _post_all(http, bodies)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 503, 503], [a.text for a in answers]
    assert len(await _inbound_wamids(resources)) == 2


async def test_shutting_down_stores_the_waiting_deliveries_and_refuses_new_ones(
    app: FastAPI, http: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    await create_project(resources, sandbox_url)
    bodies = [_text_delivery(f"wamid.s{n}", f"1555000500{n}") for n in range(3)]
    posting = asyncio.create_task(_post_all(http, bodies))
    while _group(app).waiting < 3:
        await asyncio.sleep(0.005)

    await _group(app).close()

    assert await _inbound_wamids(resources) == [f"wamid.s{n}" for n in range(3)]
    assert [a.status_code for a in await posting] == [200] * 3
    late = await _post_all(http, [_text_delivery("wamid.late", "15550005099")])
    assert late[0].status_code == 503, late[0].text


async def test_items_failing_unexpectedly_leave_their_delivery_stored_for_the_job(
    app: FastAPI,
    http: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_project(resources, sandbox_url)
    message_values = ingest.message_values

    def flaky(config: Any, conversation_id: Any, message: Any, raw: Any, now: Any) -> Any:
        if message.id == "wamid.flaky":
            raise RuntimeError("a bug in storing this one item")
        return message_values(config, conversation_id, message, raw, now)

    monkeypatch.setattr(ingest, "message_values", flaky)
    bodies = [_text_delivery(f"wamid.g{n}", f"1555000600{n}") for n in range(3)]
    bodies.insert(1, _text_delivery("wamid.flaky", "15550006099"))

    answers = await _post_all(http, bodies)

    assert [a.status_code for a in answers] == [200] * 4, "stored, so acknowledged"
    assert _group(app).groups == 1
    assert await _inbound_wamids(resources) == ["wamid.g0", "wamid.g1", "wamid.g2"]
    webhooks = {w.body.count("wamid.flaky"): w for w in await _rows(resources, InboundWebhook)}
    assert webhooks[1].status == "pending" and webhooks[0].status == "processed"

    monkeypatch.setattr(ingest, "message_values", message_values)
    await run_jobs(resources)  # inbound.process stores the items the request could not

    assert "wamid.flaky" in await _inbound_wamids(resources)
    assert {w.status for w in await _rows(resources, InboundWebhook)} == {"processed"}


async def test_a_delivery_not_stored_in_time_is_a_503_and_the_log_says_where_it_waits(
    settings: Settings, resources: Resources, sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A transaction holds the project's row: the group's inserts wait for it."""
    await create_project(resources, sandbox_url)
    app = create_app(settings.model_copy(update={"ingest_timeout_seconds": 0.5}), resources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        async with resources.db.transaction() as holder:
            await holder.execute(select(Project).with_for_update())
            answers = await _post_all(http, [_text_delivery("wamid.t0", "15550006000")])
            assert answers[0].status_code == 503, answers[0].text
            assert "not stored in time" in answers[0].json()["message"]
            assert "the writer is at _drain" in caplog.text and "_commit" in caplog.text
        await _group(app).close()  # the holder is gone: the writer stores it after all
    assert await _inbound_wamids(resources) == ["wamid.t0"]
