"""The templates' rules: drafts checked against Meta's, statuses from Meta, sends queued.

Graph API calls never run here: :mod:`.submission` and :mod:`.sync` make them between
transactions, and call these functions to read and record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import NotFound, Unprocessable
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappConfig, WhatsappMessage, WhatsappTemplate
from threadline.whatsapp.payloads import template_message
from threadline.whatsapp_configs.service import list_for, list_for_customer
from threadline.whatsapp_configs.service import resolve as resolve_config
from threadline.whatsapp_messages.service import (
    SendTarget,
    send_payload_to_phone,
    send_payloads_to_phones,
)
from threadline.whatsapp_templates import parameters, repository
from threadline.whatsapp_templates.components import check_template, normalized
from threadline.whatsapp_templates.repository import TemplateFilters
from threadline.whatsapp_templates.schemas import SendFields, TemplateChanges, TemplateCreate

#: Meta's status → the reference's; FLAGGED keeps whatever the template was.
STATUS_OF_META = {
    "PENDING": "submitted",
    "IN_APPEAL": "submitted",
    "APPROVED": "approved",
    "REINSTATED": "approved",
    "REJECTED": "rejected",
    "LIMIT_EXCEEDED": "rejected",
    "PAUSED": "disabled",
    "DISABLED": "disabled",
    "ARCHIVED": "disabled",
    "PENDING_DELETION": "removed",
    "DELETED": "removed",
}
SUBMITTABLE = ("draft", "rejected")


class TemplateNotFound(NotFound):
    """The WhatsApp template does not exist in this project."""

    error = "Template not found"


class InvalidTemplate(Unprocessable):
    """The template breaks Meta's rules; ``errors`` lists every problem."""

    error = "Invalid template"

    def __init__(self, problems: list[str], message: str | None = None) -> None:
        super().__init__(message or "; ".join(problems[:5]))
        self.problems = problems

    def body(self) -> dict[str, Any]:
        """The reference's 422: ``errors`` as a list of sentences."""
        return {**super().body(), "errors": self.problems}


class TemplateStateError(Unprocessable):
    """The template's status does not allow this."""

    error = "Invalid template status"

    def body(self) -> dict[str, Any]:
        """The reference's template 422s list their problems as sentences."""
        return {**super().body(), "errors": [self.message]}


async def get(
    session: AsyncSession,
    project_id: uuid.UUID,
    template_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WhatsappTemplate:
    """A template of the project (another project's is a 404)."""
    template = await repository.get(session, project_id, template_id, for_update=for_update)
    if template is None:
        raise TemplateNotFound()
    return template


async def list_page(
    session: AsyncSession, project: Project, filters: TemplateFilters, page: PageParams
) -> tuple[list[WhatsappTemplate], int]:
    """A page of the project's templates, newest first."""
    return await repository.list_page(session, project.id, filters, page)


async def config_for(
    session: AsyncSession,
    project: Project,
    config_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
) -> WhatsappConfig:
    """The named config, else the customer's first, else the project's default."""
    if config_id is None and customer_id is not None:
        configs = await list_for_customer(session, project, customer_id)
        if not configs:
            raise TemplateStateError("The customer has no WhatsApp config")
        return configs[0]
    return await resolve_config(session, project, config_id)


def accounts_of(configs: Sequence[WhatsappConfig]) -> dict[str, list[uuid.UUID]]:
    """The config ids of ``configs`` by business account, oldest first: a template is
    its account's, and every config on that account can send it."""
    grouped: dict[str, list[uuid.UUID]] = {}
    for config in sorted(configs, key=lambda c: c.created_at):
        grouped.setdefault(config.waba_id, []).append(config.id)
    return grouped


async def config_ids_by_account(
    session: AsyncSession, project: Project
) -> dict[str, list[uuid.UUID]]:
    """The project's config ids by business account (see :func:`accounts_of`)."""
    return accounts_of(await list_for(session, project))


async def create(
    session: AsyncSession, project: Project, body: TemplateCreate, now: datetime
) -> WhatsappTemplate:
    """A draft, checked against Meta's rules first (every problem in one 422)."""
    fields = body.template
    components = fields.components
    if isinstance(components, list):
        components = normalized(components)
    _check(fields.name, fields.language_code, fields.category, fields.parameter_format, components)
    config = await config_for(session, project, body.whatsapp_config_id, body.customer_id)
    await _check_name_free(session, project.id, config.waba_id, fields.name, fields.language_code)
    template = WhatsappTemplate(
        project_id=project.id,
        whatsapp_config_id=config.id,
        business_account_id=config.waba_id,
        name=fields.name,
        language_code=fields.language_code,
        category=fields.category,
        parameter_format=fields.parameter_format,
        components=components,
        status="draft",
        meta={},
        created_at=now,
        updated_at=now,
    )
    await _write_named(session, template)
    return template


def _check(name: Any, language: Any, category: Any, fmt: Any, components: Any) -> None:
    problems = check_template(name, language, category, fmt, components)
    if problems:
        raise InvalidTemplate(problems)


async def _check_name_free(
    session: AsyncSession,
    project_id: uuid.UUID,
    waba_id: str,
    name: str,
    language: str,
    keep: uuid.UUID | None = None,
) -> None:
    other = await repository.live_named(session, project_id, waba_id, name, language)
    if other is not None and other.id != keep:
        raise _name_taken(name, language)


def _name_taken(name: str, language: str) -> InvalidTemplate:
    return InvalidTemplate([f"name: a {language} template called {name} already exists"])


async def _write_named(session: AsyncSession, template: WhatsappTemplate, **values: Any) -> None:
    """Write the template (with ``values`` set) in a savepoint; a concurrent request that
    took the name first (past the check, the unique index decides) is the same 422 as a
    name taken before, not a 409."""
    # Read before the savepoint: after its rollback the row's attributes are expired.
    name = values.get("name", template.name)
    language = values.get("language_code", template.language_code)
    try:
        async with session.begin_nested():
            session.add(template)
            for column, value in values.items():
                setattr(template, column, value)
    except IntegrityError:
        raise _name_taken(name, language) from None


async def update(
    session: AsyncSession,
    project: Project,
    template_id: uuid.UUID,
    changes: TemplateChanges,
    now: datetime,
) -> WhatsappTemplate:
    """Change a draft; the result is checked as a whole, like a new template."""
    template = await get(session, project.id, template_id, for_update=True)
    if template.status != "draft":
        raise TemplateStateError("Only draft templates can be updated")
    given = changes.model_dump(exclude_unset=True, exclude_none=True)
    renames = {"language_code": "language", "parameter_format": "fmt"}
    given = {renames.get(key, key): value for key, value in given.items()}
    if isinstance(given.get("components"), list):
        given["components"] = normalized(given["components"])
    merged = {**_fields(template), **given}
    _check(**merged)
    await _check_name_free(
        session,
        project.id,
        template.business_account_id,
        merged["name"],
        merged["language"],
        keep=template.id,
    )
    await _write_named(
        session,
        template,
        name=merged["name"],
        language_code=merged["language"],
        category=merged["category"],
        parameter_format=merged["fmt"],
        components=merged["components"],
        updated_at=now,
    )
    return template


def _fields(template: WhatsappTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "language": template.language_code,
        "category": template.category,
        "fmt": template.parameter_format,
        "components": template.components,
    }


def check_submittable(template: WhatsappTemplate) -> None:
    """Refuse a template Meta already has (only drafts and rejected ones are submitted)."""
    if template.status not in SUBMITTABLE:
        raise TemplateStateError(
            f"Only draft or rejected templates can be submitted (this one is {template.status})"
        )
    _check(**_fields(template))


def graph_body(template: WhatsappTemplate) -> dict[str, Any]:
    """The ``POST /{waba_id}/message_templates`` body of a template."""
    return {
        "name": template.name,
        "language": template.language_code,
        "category": template.category,
        "parameter_format": template.parameter_format,
        "components": template.components,
    }


async def record_submission(
    session: AsyncSession,
    project_id: uuid.UUID,
    template_id: uuid.UUID,
    answer: dict[str, Any],
    now: datetime,
) -> WhatsappTemplate:
    """Store Meta's answer to a submission: its template id and first status."""
    template = await get(session, project_id, template_id, for_update=True)
    template.meta_template_id = str(answer.get("id") or "") or None
    template.submitted_at = now
    apply_meta_status(template, str(answer.get("status") or "PENDING"), None, now)
    if answer.get("category"):
        template.category = str(answer["category"])
    return template


def apply_meta_status(
    template: WhatsappTemplate, meta_status: str, reason: Any, now: datetime
) -> None:
    """Set Meta's status and the reference's one it maps to (and the rejection reason)."""
    reason = str(reason) if reason else None
    status = STATUS_OF_META.get(meta_status.upper())
    template.meta_status, template.updated_at = meta_status.upper(), now
    if status is not None:
        template.status = status
    if template.status == "rejected":
        template.rejected_reason = reason
    elif status is not None:
        template.rejected_reason = None


async def apply_webhook(
    session: AsyncSession,
    field: str,
    value: dict[str, Any],
    project_id: uuid.UUID | None,
    now: datetime,
) -> int:
    """Apply a template webhook (status, category or quality) to the templates mirroring
    Meta's ``message_template_id``; how many were changed (0: none is ours)."""
    meta_id = str(value.get("message_template_id") or "")
    if not meta_id:
        raise ValueError(f"{field}: message_template_id is missing")
    templates = await repository.by_meta_id(session, meta_id, project_id)
    for template in templates:
        _WEBHOOKS[field](template, value, now)
    return len(templates)


def _status_update(template: WhatsappTemplate, value: dict[str, Any], now: datetime) -> None:
    event = str(value.get("event") or "")
    reason = value.get("reason")
    apply_meta_status(template, event, str(reason) if reason else None, now)
    info = value.get("rejection_info")
    if isinstance(info, dict):
        template.meta = {**template.meta, "rejection_info": info}


def _category_update(template: WhatsappTemplate, value: dict[str, Any], now: datetime) -> None:
    category = value.get("new_category")
    if isinstance(category, str) and category:
        template.category, template.updated_at = category, now


def _quality_update(template: WhatsappTemplate, value: dict[str, Any], now: datetime) -> None:
    score = value.get("new_quality_score")
    template.meta = {**template.meta, "quality_score": score}
    template.updated_at = now


_WEBHOOKS = {
    "message_template_status_update": _status_update,
    "template_category_update": _category_update,
    "message_template_quality_update": _quality_update,
}
WEBHOOK_FIELDS = frozenset(_WEBHOOKS)


async def send(
    session: AsyncSession,
    project: Project,
    template_id: uuid.UUID,
    fields: SendFields,
    now: datetime,
    *,
    inactivity: timedelta,
) -> tuple[WhatsappTemplate, WhatsappMessage]:
    """Queue the approved template to a phone number through the outbox; every problem
    of its parameters is a 422 before anything is queued."""
    template = await get(session, project.id, template_id)
    check_sendable(template)
    components = send_components(template, _send_parameters(fields))
    config_id = fields.whatsapp_config_id
    if config_id is None and fields.customer_id is None:
        config_id = template.whatsapp_config_id
    config = await config_for(session, project, config_id, fields.customer_id)
    check_config(template, config)
    target = SendTarget(fields.phone_number, config.id, None, inactivity)
    return template, await queue_send(session, project, template, target, components, now)


def check_sendable(template: WhatsappTemplate) -> None:
    """Refuse a template Meta would not deliver (only approved ones are sent)."""
    if template.status != "approved":
        raise TemplateStateError(
            f"Only approved templates can be sent (this one is {template.status})"
        )


def check_config(template: WhatsappTemplate, config: WhatsappConfig) -> None:
    """Refuse a config whose business account does not hold the template."""
    if config.waba_id != template.business_account_id:
        raise TemplateStateError("The WhatsApp config is not on the template's business account")


async def queue_send(
    session: AsyncSession,
    project: Project,
    template: WhatsappTemplate,
    target: SendTarget,
    components: list[dict[str, Any]],
    now: datetime,
) -> WhatsappMessage:
    """The template's outbox message to ``target`` (its conversation found or opened),
    with ``components`` from :func:`send_components`."""
    return await send_payload_to_phone(
        session, project, target, _payload(template, components), now
    )


async def queue_sends(
    session: AsyncSession,
    project: Project,
    template: WhatsappTemplate,
    config_id: uuid.UUID,
    sends: Sequence[tuple[str, list[dict[str, Any]]]],
    now: datetime,
    *,
    inactivity: timedelta,
) -> list[WhatsappMessage]:
    """:func:`queue_send` to several numbers on one config (``(phone, components)`` each),
    their conversations found or opened together."""
    payloads = [(phone, _payload(template, components)) for phone, components in sends]
    return await send_payloads_to_phones(
        session, project, config_id, payloads, now, inactivity=inactivity
    )


def _payload(template: WhatsappTemplate, components: list[dict[str, Any]]) -> dict[str, Any]:
    return template_message(
        "0", template.name, template.language_code, components=components or None
    )


def _send_parameters(fields: SendFields) -> parameters.SendParameters:
    return parameters.SendParameters(
        body=fields.template_parameters,
        header_type=fields.header_type,
        header=fields.header_params,
        header_filename=fields.header_filename,
        buttons=fields.button_url_params or {},
    )


def send_components(
    template: WhatsappTemplate, given: parameters.SendParameters
) -> list[dict[str, Any]]:
    """Meta's send components of ``template`` filled with ``given``; every problem is one
    :class:`InvalidTemplate`."""
    components, problems = send_problems(template, given)
    if problems:
        raise InvalidTemplate(problems)
    return components


def send_problems(
    template: WhatsappTemplate, given: parameters.SendParameters
) -> tuple[list[dict[str, Any]], list[str]]:
    """Meta's send components of ``template`` for ``given``, and every problem found."""
    return parameters.build(template.components, template.parameter_format, given)


async def mark_removed(
    session: AsyncSession, project_id: uuid.UUID, template_id: uuid.UUID, now: datetime
) -> WhatsappTemplate:
    """Mark a template removed (kept, as the reference does; its name becomes free)."""
    template = await get(session, project_id, template_id, for_update=True)
    template.status, template.updated_at = "removed", now
    return template


async def record_edit(
    session: AsyncSession,
    project_id: uuid.UUID,
    template_id: uuid.UUID,
    request: dict[str, Any],
    now: datetime,
) -> WhatsappTemplate:
    """Store an edit Meta accepted; Meta reviews an edited template again."""
    template = await get(session, project_id, template_id, for_update=True)
    template.category = request.get("category", template.category)
    template.components = request.get("components", template.components)
    if "message_send_ttl_seconds" in request:
        template.meta = {**template.meta, "time_to_live": request["message_send_ttl_seconds"]}
    apply_meta_status(template, "PENDING", None, now)
    return template
