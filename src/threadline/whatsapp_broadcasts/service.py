"""The broadcasts' rules: drafts on an approved template, recipients checked as a batch,
one send, and the sender's steps (see :mod:`.sender` for its pacing)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import AppError, NotFound, Unprocessable
from threadline.jobs.queue import enqueue
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappBroadcast, WhatsappTemplate
from threadline.projects import repository as projects
from threadline.whatsapp_broadcasts import repository
from threadline.whatsapp_broadcasts.checks import RecipientRows, check_rows
from threadline.whatsapp_broadcasts.repository import BroadcastFilters, Counts
from threadline.whatsapp_broadcasts.schemas import BroadcastFields
from threadline.whatsapp_configs.service import resolve as resolve_config
from threadline.whatsapp_templates import parameters
from threadline.whatsapp_templates import service as templates

log = logging.getLogger("threadline.whatsapp_broadcasts")

SEND_TASK = "whatsapp_broadcasts.send"


class BroadcastNotFound(NotFound):
    """The broadcast does not exist in this project."""

    error = "Broadcast not found"


class BroadcastRefused(Unprocessable):
    """The broadcast cannot do this in its status."""

    error = "Invalid broadcast"

    def body(self) -> dict[str, Any]:
        """The reference's 422: ``error`` is the sentence itself."""
        return {**super().body(), "error": self.message}


async def get(
    session: AsyncSession, project: Project, broadcast_id: uuid.UUID, *, for_update: bool = False
) -> WhatsappBroadcast:
    """A broadcast of the project (another project's is a 404)."""
    broadcast = await repository.get(session, project.id, broadcast_id, for_update=for_update)
    if broadcast is None:
        raise BroadcastNotFound()
    return broadcast


async def list_page(
    session: AsyncSession, project: Project, filters: BroadcastFilters, page: PageParams
) -> tuple[list[WhatsappBroadcast], int]:
    """A page of the project's broadcasts, newest first."""
    return await repository.list_page(session, project.id, filters, page)


async def create(
    session: AsyncSession, project: Project, fields: BroadcastFields, now: datetime
) -> WhatsappBroadcast:
    """A draft on an approved template of the config's business account."""
    config = await resolve_config(session, project, fields.whatsapp_config_id)
    template = await _template(session, project, fields.whatsapp_template_id)
    try:
        templates.check_sendable(template)
        templates.check_config(template, config)
    except AppError as error:
        raise BroadcastRefused(error.message) from None
    broadcast = WhatsappBroadcast(
        project_id=project.id,
        whatsapp_config_id=config.id,
        whatsapp_template_id=template.id,
        name=fields.name.strip(),
        status="draft",
        rate_per_second=fields.rate_per_second,
        total_recipients=0,
        throttle_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def _template(
    session: AsyncSession, project: Project, template_id: uuid.UUID
) -> WhatsappTemplate:
    try:
        return await templates.get(session, project.id, template_id)
    except templates.TemplateNotFound:
        raise BroadcastRefused("Template not found") from None


@dataclass(frozen=True)
class Added:
    """What a batch of recipients came to."""

    added: int
    duplicates: int


async def add_recipients(
    session: AsyncSession,
    project: Project,
    broadcast_id: uuid.UUID,
    rows: Any,
    now: datetime,
    *,
    most: int,
) -> Added:
    """Add a batch to a draft: every row is checked first (one 422 lists every problem,
    and nothing is added); numbers already in the broadcast are skipped as duplicates."""
    broadcast = await get(session, project, broadcast_id, for_update=True)
    if broadcast.status != "draft":
        raise BroadcastRefused(f"Cannot add recipients to broadcast in {broadcast.status} status")
    template = await templates.get(session, project.id, broadcast.whatsapp_template_id)
    checked = await check_rows(session, project.id, template, rows)
    present = await repository.phones_present(session, broadcast.id, checked.phones())
    fresh = checked.without(present)
    if broadcast.total_recipients + len(fresh) > most:
        raise BroadcastRefused(f"A broadcast holds at most {most} recipients")
    await repository.add_recipients(session, broadcast, _rows(broadcast, fresh, now))
    broadcast.updated_at = now
    return Added(len(fresh), len(checked) - len(fresh))


def _rows(
    broadcast: WhatsappBroadcast, fresh: RecipientRows, now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "project_id": broadcast.project_id,
            "broadcast_id": broadcast.id,
            "whatsapp_config_id": broadcast.whatsapp_config_id,
            "phone_number": row.phone,
            "whatsapp_contact_id": row.contact_id,
            "template_parameters": row.parameters,
            "created_at": now,
            "updated_at": now,
        }
        for row in fresh
    ]


async def start(
    session: AsyncSession, project: Project, broadcast_id: uuid.UUID, now: datetime
) -> WhatsappBroadcast:
    """Send a draft with recipients: ``sending``, and its sender job queued (once)."""
    broadcast = await get(session, project, broadcast_id, for_update=True)
    if broadcast.status == "sending":
        raise BroadcastRefused("Broadcast is already sending")
    if broadcast.status != "draft":
        raise BroadcastRefused(f"Broadcast is {broadcast.status}: it was sent already")
    if broadcast.total_recipients == 0:
        raise BroadcastRefused("Broadcast has no recipients")
    broadcast.status, broadcast.started_at, broadcast.updated_at = "sending", now, now
    payload = {"broadcast_id": str(broadcast.id)}
    key = f"broadcast:{broadcast.id}"
    await enqueue(session, SEND_TASK, payload, dedupe_key=key, project_id=project.id)
    log.info("broadcast %s sending to %d recipients", broadcast.id, broadcast.total_recipients)
    return broadcast


async def counts_of(
    session: AsyncSession, broadcasts: list[WhatsappBroadcast]
) -> dict[uuid.UUID, Counts]:
    """Each broadcast's counts (one query for all)."""
    return await repository.counts(session, [b.id for b in broadcasts])


@dataclass(frozen=True)
class Step:
    """What one transaction of the sender did, and the broadcast as it found it."""

    queued: int
    status: str
    throttled_at: datetime | None
    rate: float | None


async def queue_next(
    session: AsyncSession,
    broadcast_id: uuid.UUID,
    limit: int,
    now: datetime,
    *,
    inactivity: timedelta,
) -> Step:
    """Turn the next ``limit`` recipients into outbox messages, marking each with its
    message in this same transaction: a recipient becomes a message at most once."""
    broadcast = await repository.by_id(session, broadcast_id)
    if broadcast is None or broadcast.status != "sending":
        return Step(0, "gone" if broadcast is None else broadcast.status, None, None)
    queued = 0
    if limit > 0:
        queued = await _queue(session, broadcast, limit, now, inactivity)
    return Step(queued, broadcast.status, broadcast.throttled_at, broadcast.rate_per_second)


async def _queue(
    session: AsyncSession,
    broadcast: WhatsappBroadcast,
    limit: int,
    now: datetime,
    inactivity: timedelta,
) -> int:
    recipients = await repository.next_unqueued(session, broadcast.id, limit)
    if not recipients:
        return 0
    project = await projects.get(session, broadcast.project_id)
    template = await templates.get(session, broadcast.project_id, broadcast.whatsapp_template_id)
    assert project is not None, "a broadcast's project outlives it"
    marks = {r.id: {"id": r.id, "queued_at": now, "updated_at": now} for r in recipients}
    ready = [(r, _components(template, r, marks[r.id], now)) for r in recipients]
    sendable = [(r, components) for r, components in ready if components is not None]
    try:
        messages = await templates.queue_sends(
            session,
            project,
            template,
            broadcast.whatsapp_config_id,
            [("+" + r.phone_number, components) for r, components in sendable],
            now,
            inactivity=inactivity,
        )
    except AppError as error:  # refused before anything was written (the config is gone)
        messages = []
        for r, _ in sendable:
            _fail(marks[r.id], error.message, now)
    for (r, _), message in zip(sendable, messages, strict=False):
        marks[r.id]["message_id"] = message.id
    await repository.mark_queued(session, list(marks.values()))
    return len(recipients)


def _components(
    template: WhatsappTemplate, recipient: Any, mark: dict[str, Any], now: datetime
) -> list[dict[str, Any]] | None:
    """The recipient's send components, or None (and its mark failed) if they do not fit
    the template any more."""
    components, problems = templates.send_problems(
        template, parameters.of_values(recipient.template_parameters)
    )
    if problems:
        _fail(mark, "; ".join(problems), now)
        return None
    return components


def _fail(mark: dict[str, Any], message: str, now: datetime) -> None:
    log.warning("broadcast recipient %s not queued: %s", mark["id"], message)
    mark.update(failed_at=now, error={"message": message})


async def finish_if_done(session: AsyncSession, broadcast_id: uuid.UUID, now: datetime) -> bool:
    """Once no recipient is waiting (queued or in the outbox), the broadcast is
    ``completed``, or ``failed`` if no message was accepted; True once it is settled."""
    broadcast = await repository.by_id(session, broadcast_id)
    if broadcast is None or broadcast.status != "sending":
        return True
    if await repository.unsettled(session, broadcast_id):
        return False
    counts = (await repository.counts(session, [broadcast_id])).get(broadcast_id, Counts())
    failed = counts.sent == 0 and counts.failed > 0
    broadcast.status = "failed" if failed else "completed"
    broadcast.completed_at, broadcast.updated_at = now, now
    log.info("broadcast %s %s: %s", broadcast_id, broadcast.status, counts)
    return True


async def record_reply(
    session: AsyncSession, config_id: uuid.UUID, phone: str, now: datetime
) -> None:
    """A number wrote to a config: it responded to the broadcasts sent to it before."""
    await repository.record_reply(session, config_id, phone.removeprefix("+"), now)


async def record_throttle(
    session: AsyncSession, config_id: uuid.UUID | None, code: int, now: datetime
) -> None:
    """The Graph API throttled a send of the config: its sending broadcasts slow down."""
    if config_id is not None and await repository.record_throttle(session, config_id, now):
        log.warning("Graph API throttled config %s (%d): broadcasts slow down", config_id, code)
