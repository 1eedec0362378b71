"""Pulling a WABA's templates from the Graph API: runs, pages applied as they come, outcome.

A run is queued per business account (one active at a time); its job reads one page,
commits it with the run's counters (the progress ``sync_status`` shows), and reads the
next. Templates Meta no longer lists are marked removed once every page is in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.jobs.queue import enqueue
from threadline.kit.crypto import Cipher
from threadline.models import Project, WhatsappConfig, WhatsappTemplate, WhatsappTemplateSyncRun
from threadline.whatsapp_configs.service import get_by_id, list_for
from threadline.whatsapp_templates import repository, service
from threadline.whatsapp_templates.components import normalized
from threadline.whatsapp_templates.graph import Account, account_of

SYNC_TASK = "whatsapp_templates.sync"
_UNSYNCED = ("draft", "removed")


async def start(
    session: AsyncSession,
    project: Project,
    config_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    now: datetime,
) -> tuple[list[WhatsappTemplateSyncRun], int]:
    """A run per business account of the chosen configs (an active one is reused), and
    how many were queued now."""
    configs = await _configs(session, project, config_id, customer_id)
    runs, queued = [], 0
    for anchor in _by_waba(configs).values():
        run, new = await _run_for(session, project, anchor, now)
        runs.append(run)
        queued += new
    return runs, queued


async def _run_for(
    session: AsyncSession, project: Project, anchor: WhatsappConfig, now: datetime
) -> tuple[WhatsappTemplateSyncRun, bool]:
    """The WABA's active run, or a new one queued (True). A concurrent request that
    queued one first (the partial unique index decides) is the run reused, not a 409."""
    run = await repository.active_sync(session, project.id, anchor.waba_id)
    if run is not None:
        return run, False
    try:
        async with session.begin_nested():
            return await _queue(session, project, anchor, now), True
    except IntegrityError:
        run = await repository.active_sync(session, project.id, anchor.waba_id)
        if run is None:
            raise
        return run, False


async def _configs(
    session: AsyncSession,
    project: Project,
    config_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
) -> list[WhatsappConfig]:
    if config_id is not None or customer_id is not None:
        return [await service.config_for(session, project, config_id, customer_id)]
    configs = await list_for(session, project)
    if not configs:
        raise service.TemplateStateError("No WhatsApp configurations found")
    return configs


def _by_waba(configs: Sequence[WhatsappConfig]) -> dict[str, WhatsappConfig]:
    anchors: dict[str, WhatsappConfig] = {}
    for config in sorted(configs, key=lambda c: (not c.is_default, c.created_at)):
        anchors.setdefault(config.waba_id, config)
    return anchors


async def _queue(
    session: AsyncSession, project: Project, anchor: WhatsappConfig, now: datetime
) -> WhatsappTemplateSyncRun:
    run = WhatsappTemplateSyncRun(
        project_id=project.id,
        whatsapp_config_id=anchor.id,
        business_account_id=anchor.waba_id,
        status="queued",
        templates_synced=0,
        templates_created=0,
        templates_updated=0,
        templates_removed=0,
        pages=0,
        queued_at=now,
    )
    session.add(run)
    await session.flush()
    key = f"{SYNC_TASK}:{run.id}"
    await enqueue(
        session, SYNC_TASK, {"run_id": str(run.id)}, dedupe_key=key, project_id=project.id
    )
    return run


async def status(
    session: AsyncSession,
    project: Project,
    *,
    ids: Sequence[uuid.UUID] | None,
    waba_id: str | None,
    config_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
) -> list[WhatsappTemplateSyncRun]:
    """The runs asked for; without ids, the latest run of each business account."""
    wabas = [waba_id] if waba_id else None
    if config_id is not None or customer_id is not None:
        wabas = [(await service.config_for(session, project, config_id, customer_id)).waba_id]
    runs = await repository.sync_runs(session, project.id, ids=ids, waba_ids=wabas)
    if ids is not None:
        return runs
    latest: dict[str, WhatsappTemplateSyncRun] = {}
    for run in runs:
        latest.setdefault(run.business_account_id, run)
    return list(latest.values())


async def begin(
    session: AsyncSession, run_id: uuid.UUID, settings: Settings, cipher: Cipher, now: datetime
) -> Account | None:
    """Mark the run running (counters from zero: a retry starts over); None if it is over
    or its config is gone (then it is failed)."""
    run = await repository.sync_run(session, run_id, for_update=True)
    if run is None or run.status not in repository.ACTIVE_SYNC:
        return None
    run.status, run.started_at, run.finished_at = "running", now, None
    run.templates_synced = run.templates_created = run.templates_updated = 0
    run.templates_removed = run.pages = 0
    config_id = run.whatsapp_config_id
    config = None if config_id is None else await get_by_id(session, run.project_id, config_id)
    if config is None:
        _fail(run, "ConfigGone", "The anchor WhatsApp config was deleted", now)
        return None
    return account_of(config, settings, cipher)


async def apply_page(
    session: AsyncSession, run_id: uuid.UUID, page: list[dict[str, Any]], now: datetime
) -> None:
    """Create or update a local template for each of Meta's on this page; count them."""
    run = await repository.sync_run(session, run_id, for_update=True)
    assert run is not None
    local = await repository.of_waba(session, run.project_id, run.business_account_id)
    by_meta = {t.meta_template_id: t for t in local if t.meta_template_id}
    by_name = {(t.name, t.language_code): t for t in local if t.status != "removed"}
    # Every project's sandbox config shares the sandbox's one WABA: what another project
    # submitted there stays that project's.
    theirs = await repository.owned_elsewhere(
        session, run.project_id, [str(remote.get("id", "")) for remote in page]
    )
    for remote in page:
        meta_id = str(remote.get("id", ""))
        if meta_id in theirs:
            continue
        found = by_meta.get(meta_id) or by_name.get(
            (str(remote.get("name")), str(remote.get("language")))
        )
        if found is None:
            session.add(_new_template(run, remote, now))
            run.templates_created += 1
        else:
            _mirror(found, remote, now)
            run.templates_updated += 1
    run.templates_synced += len(page) - len(theirs)
    run.pages += 1


def _new_template(
    run: WhatsappTemplateSyncRun, remote: dict[str, Any], now: datetime
) -> WhatsappTemplate:
    template = WhatsappTemplate(
        project_id=run.project_id,
        whatsapp_config_id=run.whatsapp_config_id,
        business_account_id=run.business_account_id,
        name=str(remote.get("name", ""))[:512],
        language_code=str(remote.get("language", ""))[:20],
        status="submitted",
        meta={"source": "sync"},
        created_at=now,
    )
    _mirror(template, remote, now)
    return template


def _mirror(template: WhatsappTemplate, remote: dict[str, Any], now: datetime) -> None:
    components = remote.get("components")
    template.meta_template_id = str(remote.get("id", "")) or template.meta_template_id
    template.category = str(remote.get("category") or template.category or "UTILITY")
    template.parameter_format = str(remote.get("parameter_format") or "POSITIONAL")
    template.components = normalized(components) if isinstance(components, list) else []
    reason = remote.get("rejected_reason")
    service.apply_meta_status(template, str(remote.get("status") or "PENDING"), reason, now)


async def finish(session: AsyncSession, run_id: uuid.UUID, seen: set[str], now: datetime) -> None:
    """Mark removed the mirrored templates Meta no longer lists; the run succeeded."""
    run = await repository.sync_run(session, run_id, for_update=True)
    assert run is not None
    for template in await repository.of_waba(session, run.project_id, run.business_account_id):
        gone = template.meta_template_id is not None and template.meta_template_id not in seen
        if gone and template.status not in _UNSYNCED:
            template.status, template.updated_at = "removed", now
            run.templates_removed += 1
    run.status, run.finished_at = "succeeded", now
    run.error_class = run.error_message = None


async def fail(session: AsyncSession, run_id: uuid.UUID, error: Exception, now: datetime) -> None:
    """Record why the run failed for good."""
    run = await repository.sync_run(session, run_id, for_update=True)
    if run is not None:
        _fail(run, type(error).__name__, str(error), now)


async def note_retry(session: AsyncSession, run_id: uuid.UUID, error: Exception) -> None:
    """Keep the last transient error on the run while its job retries."""
    run = await repository.sync_run(session, run_id, for_update=True)
    if run is not None:
        run.error_class, run.error_message = type(error).__name__, str(error)[:2000]


def _fail(run: WhatsappTemplateSyncRun, error_class: str, message: str, now: datetime) -> None:
    run.status, run.finished_at = "failed", now
    run.error_class, run.error_message = error_class[:200], message[:2000]
