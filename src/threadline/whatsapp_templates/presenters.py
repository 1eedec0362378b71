"""Template and sync-run rows → the reference's ``WhatsappTemplate`` and sync runs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from threadline.config import Settings
from threadline.models import WhatsappConfig, WhatsappTemplate, WhatsappTemplateSyncRun
from threadline.whatsapp_configs.presenters import describe
from threadline.whatsapp_templates.components import placeholders, section
from threadline.whatsapp_templates.schemas import SyncRunOut, TemplateOut
from threadline.whatsapp_templates.service import accounts_of

#: The project's config ids on each business account (a template is its account's).
Accounts = Mapping[str, Sequence[uuid.UUID]]


def template(row: WhatsappTemplate, accounts: Accounts) -> TemplateOut:
    """The template as the API shows it, with every config of its business account that
    can send it; Meta's own view goes in ``metadata``."""
    body = section(row.components, "BODY") or {}
    content = str(body.get("text", ""))
    return TemplateOut(
        id=row.id,
        name=row.name,
        language_code=row.language_code,
        category=row.category,
        status=row.status,
        content=content,
        parameter_count=len(placeholders(content)),
        business_account_id=row.business_account_id,
        whatsapp_config_ids=list(accounts.get(row.business_account_id, ())),
        components=row.components,
        metadata=_metadata(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _metadata(row: WhatsappTemplate) -> dict[str, Any]:
    meta: dict[str, Any] = {**row.meta, "parameter_format": row.parameter_format}
    for key, value in (
        ("meta_template_id", row.meta_template_id),
        ("meta_status", row.meta_status),
        ("rejected_reason", row.rejected_reason),
        ("submitted_at", row.submitted_at.isoformat() if row.submitted_at else None),
    ):
        if value is not None:
            meta[key] = value
    return meta


def sync_runs(
    rows: list[WhatsappTemplateSyncRun], configs: list[WhatsappConfig], settings: Settings
) -> list[SyncRunOut]:
    """Sync runs, each with its anchor config (of ``configs``; None once deleted)."""
    by_id = {config.id: config for config in configs}
    accounts = accounts_of(configs)  # the same grouping the templates are shown with
    return [
        sync_run(
            row,
            by_id.get(row.whatsapp_config_id) if row.whatsapp_config_id else None,
            accounts.get(row.business_account_id, []),
            settings,
        )
        for row in rows
    ]


def sync_run(
    row: WhatsappTemplateSyncRun,
    anchor: WhatsappConfig | None,
    affected: Sequence[uuid.UUID],
    settings: Settings,
) -> SyncRunOut:
    """A sync run; its counts are its anchor config's ``results``, and every config of
    its business account is affected."""
    counts = {
        "templates_synced": row.templates_synced,
        "templates_created": row.templates_created,
        "templates_updated": row.templates_updated,
        "templates_removed": row.templates_removed,
    }
    config = row.whatsapp_config_id
    return SyncRunOut(
        id=row.id,
        business_account_id=row.business_account_id,
        anchor_whatsapp_config_id=config,
        status=row.status,
        **counts,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        job_id=None,
        error_class=row.error_class,
        error_message=row.error_message,
        results={str(config): counts} if config else {},
        affected_whatsapp_config_ids=list(affected),
        anchor_whatsapp_config=describe(anchor, settings) if anchor is not None else None,
    )
