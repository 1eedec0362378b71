"""Display name requests: who may ask, one waiting at a time, and Meta's review applied.

The Graph call itself is made by :mod:`.submission`, outside any transaction; this module
holds the rules and the writes on either side of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import NotFound, Unprocessable
from threadline.jobs.queue import enqueue
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappConfig, WhatsappDisplayNameRequest
from threadline.whatsapp.errors import GraphError
from threadline.whatsapp_configs import service as configs
from threadline.whatsapp_display_names import repository

#: Meta's ``decision`` in ``phone_number_name_update`` → the request's status.
DECISIONS = {"APPROVED": "approved", "DEFERRED": "deferred", "REJECTED": "declined"}
#: The webhook field that carries Meta's review of a display name.
WEBHOOK_FIELD = "phone_number_name_update"
#: A ``submitted`` request older than this lost its Graph call's answer (the process
#: stopped mid-call): far past any HTTP timeout, it no longer blocks a new request.
STALE_SUBMISSION = timedelta(minutes=5)
_STALE_MESSAGE = "Meta's answer was never recorded (the request was interrupted)"
#: The job that marks an approved name ``applied`` once the number shows it.
APPLY_TASK = "whatsapp_display_names.apply"
#: How long an approved name is watched for on the number before it is left ``approved``.
APPLY_WATCH = timedelta(days=7)
#: The longest pause between two looks at the number.
_LONGEST_LOOK = 900.0


class DisplayNameRequestNotFound(NotFound):
    """Display name request not found"""


class DisplayNameRefused(Unprocessable):
    """The display name request cannot be made."""

    def __init__(self, message: str) -> None:
        super().__init__(message, details=message)


async def get(
    session: AsyncSession, project: Project, config_id: uuid.UUID, request_id: uuid.UUID
) -> WhatsappDisplayNameRequest:
    """One request of the project's config; a 404 for another project's config or request."""
    await configs.get(session, project, config_id)
    found = await repository.get(session, project.id, config_id, request_id)
    if found is None:
        raise DisplayNameRequestNotFound()
    return found


async def list_page(
    session: AsyncSession, project: Project, config_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[WhatsappDisplayNameRequest], int]:
    """The config's requests, newest first."""
    await configs.get(session, project, config_id)
    return await repository.page(session, project.id, config_id, params)


async def requestable_config(
    session: AsyncSession, project: Project, config_id: uuid.UUID, now: datetime
) -> WhatsappConfig:
    """The config, if a request may be made for it now (production, none waiting)."""
    config = await configs.get(session, project, config_id)
    if config.kind == configs.SANDBOX_KIND:
        raise DisplayNameRefused(
            "whatsapp_config: display names can only be changed on a production config; "
            "the sandbox number's name is fixed"
        )
    if not config.phone_number_id or not config.access_token_encrypted:
        raise DisplayNameRefused("whatsapp_config: phone_number_id and access_token are required")
    active = await repository.active_for(session, project.id, config.id)
    if active is not None and not _stale(active, now):
        raise _already_active(active)
    return config


def _stale(row: WhatsappDisplayNameRequest, now: datetime) -> bool:
    return row.status == "submitted" and row.submitted_at < now - STALE_SUBMISSION


def _already_active(active: WhatsappDisplayNameRequest | None) -> DisplayNameRefused:
    if active is None:
        return DisplayNameRefused("display_name_request: another request is already active")
    return DisplayNameRefused(
        f"display_name_request: request {active.id} for {active.requested_display_name!r} "
        f"is still {active.status}; only one may wait for Meta's review at a time"
    )


async def open_request(
    session: AsyncSession,
    project_id: uuid.UUID,
    config_id: uuid.UUID,
    name: str,
    previous: str | None,
    now: datetime,
) -> WhatsappDisplayNameRequest:
    """Insert the ``submitted`` request; the partial unique index refuses a second active
    (a stale ``submitted`` one is marked ``failed`` first)."""
    await _fail_stale(session, project_id, config_id, now)
    previous = previous or await repository.last_approved_name(session, project_id, config_id)
    row = WhatsappDisplayNameRequest(
        id=uuid.uuid4(),
        project_id=project_id,
        whatsapp_config_id=config_id,
        requested_display_name=name,
        previous_display_name=previous,
        status="submitted",
        submitted_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        active = await repository.active_for(session, project_id, config_id)
        raise _already_active(active) from None
    return row


async def _fail_stale(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID, now: datetime
) -> None:
    active = await repository.active_for(session, project_id, config_id)
    if active is not None and _stale(active, now):
        active.status, active.updated_at = "failed", now
        active.meta_error_message = _STALE_MESSAGE
        await session.flush()


async def record_answer(
    session: AsyncSession,
    project: Project,
    row_id: tuple[uuid.UUID, uuid.UUID],
    error: GraphError | None,
    now: datetime,
) -> WhatsappDisplayNameRequest:
    """Meta took the request (``pending_review``) or refused it (``failed``, its error kept)."""
    row = await get(session, project, *row_id)
    row.status, row.updated_at = ("pending_review" if error is None else "failed"), now
    if error is not None:
        row.meta_error_code, row.meta_error_subcode = error.code, error.subcode
        row.meta_error_type, row.meta_error_message = error.error_type, error.message[:2000]
    await session.flush()
    return row


async def apply_webhook(
    session: AsyncSession, value: dict[str, Any], project_id: uuid.UUID | None, now: datetime
) -> int:
    """Apply Meta's ``phone_number_name_update`` to the waiting requests of that number
    (and that name, when Meta names it); how many changed (0: none is ours)."""
    status = DECISIONS.get(str(value.get("decision") or ""))
    number = _digits(value.get("display_phone_number"))
    if status is None or not number:
        raise ValueError(f"{WEBHOOK_FIELD}: decision or display_phone_number is missing")
    name = value.get("requested_verified_name")
    changed = 0
    for row, config in await repository.awaiting_review(session, project_id):
        if _digits(config.display_phone_number) != number:
            continue
        if isinstance(name, str) and name and name != row.requested_display_name:
            continue
        reason = value.get("rejection_reason")
        row.status, row.reviewed_at, row.updated_at = status, now, now
        row.rejection_reason = str(reason) if reason and reason != "NONE" else None
        if status == "approved":
            await _watch_for_application(session, row)
        changed += 1
    await session.flush()
    return changed


async def _watch_for_application(session: AsyncSession, row: WhatsappDisplayNameRequest) -> None:
    """Queue the look at the number that marks the approved name ``applied``."""
    payload = {"request_id": str(row.id)}
    key = f"{APPLY_TASK}:{row.id}"
    await enqueue(session, APPLY_TASK, payload, dedupe_key=key, project_id=row.project_id)


async def approved_request(
    session: AsyncSession, request_id: uuid.UUID
) -> tuple[WhatsappDisplayNameRequest, WhatsappConfig] | None:
    """The request and its config while the request is ``approved``; None after."""
    found = await repository.with_config(session, request_id)
    if found is None or found[0].status != "approved":
        return None
    return found


async def mark_applied(
    session: AsyncSession, request_id: uuid.UUID, verified_name: str | None, now: datetime
) -> bool:
    """Mark the approved request ``applied`` if the number now shows its name."""
    row = await repository.lock(session, request_id)
    if row is None or row.status != "approved" or verified_name != row.requested_display_name:
        return False
    row.status, row.applied_at, row.updated_at = "applied", now, now
    await session.flush()
    return True


def next_look(reviewed_at: datetime | None, now: datetime) -> float | None:
    """Seconds before the number is looked at again (half the time since the approval,
    5 s to 15 min); None once the watch is over and the request stays ``approved``."""
    since = now - (reviewed_at or now)
    if since > APPLY_WATCH:
        return None
    return min(_LONGEST_LOOK, max(5.0, since.total_seconds() / 2))


def _digits(raw: Any) -> str:
    return "".join(c for c in str(raw or "") if c.isdigit())
