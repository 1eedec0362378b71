"""``activate`` and ``active_for_phone``: what the inbound pipeline calls on the sandbox number."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from builders import create_project, create_sandbox_session
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import SandboxSession
from threadline.sandbox_sessions import service

PHONE = "+1 555-010-2030"
WA_ID = "15550102030"


async def _activate(resources: Resources, code: str, phone: str, **later: float) -> object:
    now = utcnow() + timedelta(**later)
    async with resources.db.transaction() as session:
        return await service.activate(session, code=code, phone_number=phone, now=now)


async def _active(resources: Resources, phone: str) -> SandboxSession | None:
    async with resources.db.transaction() as session:
        return await service.active_for_phone(session, phone)


async def _row(resources: Resources, row: SandboxSession) -> SandboxSession:
    async with resources.db.transaction() as session:
        found = await session.get(SandboxSession, row.id)
        assert found is not None
        return found


async def test_the_code_activates_the_session_for_the_phone_that_sent_it(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    pending = await create_sandbox_session(resources, project, PHONE)
    assert pending.status == "pending_activation" and pending.phone_number == WA_ID
    assert await _active(resources, WA_ID) is None

    typed = f"  {pending.activation_code.lower()}\n"
    activated = await _activate(resources, typed, "+1 (555) 010-2030")

    assert isinstance(activated, SandboxSession) and activated.id == pending.id
    assert activated.status == "active" and activated.activated_at is not None
    assert activated.expires_at is None
    found = await _active(resources, WA_ID)
    assert found is not None and found.id == pending.id
    assert (await _active(resources, "+15550102030")) is not None


async def test_a_code_works_once_and_only_for_its_session(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    pending = await create_sandbox_session(resources, project, PHONE)

    assert await _activate(resources, "NOPE42", WA_ID) is None
    assert await _activate(resources, pending.activation_code + "X", WA_ID) is None
    assert await _activate(resources, "", WA_ID) is None
    assert await _activate(resources, pending.activation_code, "not a phone") is None
    assert (await _row(resources, pending)).status == "pending_activation"

    assert await _activate(resources, pending.activation_code, WA_ID) is not None
    assert await _activate(resources, pending.activation_code, WA_ID) is None
    assert await _activate(resources, pending.activation_code, "15550109999") is None
    assert await _active(resources, "15550109999") is None


async def test_an_expired_code_activates_nothing(resources: Resources, sandbox_url: str) -> None:
    project = await create_project(resources, sandbox_url)
    pending = await create_sandbox_session(resources, project, PHONE)
    assert pending.expires_at is not None
    assert pending.expires_at - pending.created_at == service.ACTIVATION_WINDOW

    assert await _activate(resources, pending.activation_code, WA_ID, hours=24, seconds=1) is None
    assert (await _row(resources, pending)).status == "pending_activation"
    assert await _active(resources, WA_ID) is None
    assert await _activate(resources, pending.activation_code, WA_ID, hours=23) is not None


async def test_a_phone_moves_to_the_project_whose_code_it_sends_last(
    resources: Resources, sandbox_url: str
) -> None:
    first = await create_project(resources, sandbox_url, name="First")
    second = await create_project(resources, sandbox_url, name="Second")
    old = await create_sandbox_session(resources, first, PHONE)
    new = await create_sandbox_session(resources, second, PHONE)
    other_phone = await create_sandbox_session(resources, first, "+44 20 7946 0000")
    await _activate(resources, old.activation_code, WA_ID)
    await _activate(resources, other_phone.activation_code, "442079460000")

    assert await _activate(resources, new.activation_code, WA_ID, seconds=1) is not None

    active = await _active(resources, WA_ID)
    assert active is not None and active.id == new.id
    assert str(active.project_id) == second.id
    ended = await _row(resources, old)
    assert ended.expires_at is not None and ended.expires_at <= utcnow() + timedelta(seconds=2)
    kept = await _active(resources, "442079460000")
    assert kept is not None and kept.id == other_phone.id


async def test_active_for_phone_answers_none_for_unknown_or_bad_phones(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_sandbox_session(resources, project, PHONE)
    assert await _active(resources, WA_ID) is None  # pending is not active
    assert await _active(resources, "19999999999") is None
    assert await _active(resources, "abc") is None
    assert await _active(resources, "") is None


async def test_two_concurrent_activations_of_one_code_have_one_winner(
    resources: Resources, sandbox_url: str
) -> None:
    """On PostgreSQL both transactions are open together and race for the row lock."""
    project = await create_project(resources, sandbox_url)
    pending = await create_sandbox_session(resources, project, PHONE)
    phones = ["15550100001", "15550100002", "15550100003", "15550100004"]
    together = asyncio.Barrier(len(phones)) if not resources.db.is_sqlite else None

    async def attempt(phone: str) -> SandboxSession | None:
        async with resources.db.transaction() as session:
            await session.get(SandboxSession, pending.id)  # the transaction has begun
            if together is not None:
                await together.wait()
            won = await service.activate(
                session, code=pending.activation_code, phone_number=phone, now=utcnow()
            )
            await asyncio.sleep(0.05)  # hold the row lock while the others wait on it
            return won

    results = await asyncio.gather(*(attempt(phone) for phone in phones))

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    row = await _row(resources, pending)
    assert row.status == "active" and row.phone_number == winners[0].phone_number
    active = [await _active(resources, phone) for phone in phones]
    assert [a.id for a in active if a is not None] == [pending.id]
