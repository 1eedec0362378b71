"""The SQL of WhatsApp templates and their sync runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import WhatsappConfig, WhatsappTemplate, WhatsappTemplateSyncRun

ACTIVE_SYNC = ("queued", "running")


@dataclass(frozen=True)
class TemplateFilters:
    """The list's filters (the reference's ``q[...]`` and plain parameters)."""

    name_contains: str | None = None
    language_code: str | None = None
    category: str | None = None
    status: str | None = None
    business_account_id: str | None = None
    whatsapp_config_ids: Sequence[uuid.UUID] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions of the filters that were given."""
        t = WhatsappTemplate
        found: list[ColumnElement[bool]] = []
        if self.name_contains:
            found.append(contains(t.name, self.name_contains))
        for column, value in (
            (t.language_code, self.language_code),
            (t.category, self.category),
            (t.status, self.status),
            (t.business_account_id, self.business_account_id),
        ):
            if value is not None:
                found.append(column == value)
        if self.whatsapp_config_ids is not None:
            # A config sees its business account's templates, whichever config made them.
            accounts = select(WhatsappConfig.waba_id).where(
                WhatsappConfig.id.in_(self.whatsapp_config_ids),
                WhatsappConfig.project_id == t.project_id,
            )
            found.append(t.business_account_id.in_(accounts))
        return found


async def list_page(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: TemplateFilters,
    page: PageParams,
) -> tuple[list[WhatsappTemplate], int]:
    """A page of the project's templates, newest first, and the total count."""
    query = (
        select(WhatsappTemplate)
        .where(WhatsappTemplate.project_id == project_id, *filters.conditions())
        .order_by(WhatsappTemplate.created_at.desc(), WhatsappTemplate.id)
    )
    return await fetch_page(session, query, page)


async def get(
    session: AsyncSession,
    project_id: uuid.UUID,
    template_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WhatsappTemplate | None:
    """A template of the project, optionally locked."""
    query = select(WhatsappTemplate).where(
        WhatsappTemplate.project_id == project_id, WhatsappTemplate.id == template_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def live_named(
    session: AsyncSession, project_id: uuid.UUID, waba_id: str, name: str, language: str
) -> WhatsappTemplate | None:
    """The template (not removed) with this name and language on the WABA."""
    query = select(WhatsappTemplate).where(
        WhatsappTemplate.project_id == project_id,
        WhatsappTemplate.business_account_id == waba_id,
        WhatsappTemplate.name == name,
        WhatsappTemplate.language_code == language,
        WhatsappTemplate.status != "removed",
    )
    return (await session.execute(query)).scalars().first()


async def by_meta_id(
    session: AsyncSession, meta_template_id: str, project_id: uuid.UUID | None
) -> list[WhatsappTemplate]:
    """Templates mirroring Meta's ``meta_template_id`` (in one project, when known), locked."""
    query = select(WhatsappTemplate).where(WhatsappTemplate.meta_template_id == meta_template_id)
    if project_id is not None:
        query = query.where(WhatsappTemplate.project_id == project_id)
    return list((await session.execute(query.with_for_update())).scalars())


async def of_waba(
    session: AsyncSession, project_id: uuid.UUID, waba_id: str
) -> list[WhatsappTemplate]:
    """Every template of the project on the WABA, locked (a sync reconciles them)."""
    query = select(WhatsappTemplate).where(
        WhatsappTemplate.project_id == project_id,
        WhatsappTemplate.business_account_id == waba_id,
    )
    return list((await session.execute(query.with_for_update())).scalars())


async def active_sync(
    session: AsyncSession, project_id: uuid.UUID, waba_id: str
) -> WhatsappTemplateSyncRun | None:
    """The queued or running sync of the WABA, if there is one."""
    query = select(WhatsappTemplateSyncRun).where(
        WhatsappTemplateSyncRun.project_id == project_id,
        WhatsappTemplateSyncRun.business_account_id == waba_id,
        WhatsappTemplateSyncRun.status.in_(ACTIVE_SYNC),
    )
    return (await session.execute(query)).scalars().first()


async def sync_run(
    session: AsyncSession, run_id: uuid.UUID, *, for_update: bool = False
) -> WhatsappTemplateSyncRun | None:
    """A sync run by id (the job that names it)."""
    query = select(WhatsappTemplateSyncRun).where(WhatsappTemplateSyncRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def sync_runs(
    session: AsyncSession,
    project_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID] | None,
    waba_ids: Sequence[str] | None,
) -> list[WhatsappTemplateSyncRun]:
    """The project's sync runs, newest first, filtered by ids and WABAs."""
    query = select(WhatsappTemplateSyncRun).where(WhatsappTemplateSyncRun.project_id == project_id)
    if ids is not None:
        query = query.where(WhatsappTemplateSyncRun.id.in_(ids))
    if waba_ids is not None:
        query = query.where(WhatsappTemplateSyncRun.business_account_id.in_(waba_ids))
    query = query.order_by(WhatsappTemplateSyncRun.queued_at.desc()).limit(200)
    return list((await session.execute(query)).scalars())


async def owned_elsewhere(
    session: AsyncSession, project_id: uuid.UUID, meta_ids: Sequence[str]
) -> set[str]:
    """Which of Meta's template ids another project submitted (and has not removed)."""
    if not meta_ids:
        return set()
    query = select(WhatsappTemplate.meta_template_id).where(
        WhatsappTemplate.meta_template_id.in_(meta_ids),
        WhatsappTemplate.project_id != project_id,
        WhatsappTemplate.status != "removed",
    )
    return {str(found) for found in (await session.execute(query)).scalars()}
