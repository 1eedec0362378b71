"""The Graph calls a request waits for: submit for review, delete, edit on Meta.

Each reads in one transaction, calls the Graph API with none open, and records Meta's
answer in a second (AGENTS.md: never hold a session across external I/O). Their
answers carry what Meta said (the reference's submit returns Meta's template id), so
they run inline, on the process's pooled HTTP client, not as jobs.
"""

from __future__ import annotations

import uuid
from typing import Any

from threadline.errors import AppError, Unprocessable
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Project, WhatsappTemplate
from threadline.whatsapp.errors import GraphError, WhatsAppError
from threadline.whatsapp_templates import graph, service
from threadline.whatsapp_templates.components import check_components, normalized
from threadline.whatsapp_templates.schemas import MetaChanges, SubmitRequest


class MetaRefused(Unprocessable):
    """Meta refused the request."""

    error = "WhatsApp API error"

    def __init__(self, error: GraphError, what: str) -> None:
        super().__init__(f"{what}: {graph.describe(error)}")
        self.graph_error = error

    def body(self) -> dict[str, Any]:
        """The reference's 422 with Meta's codes under ``meta``."""
        meta = {"error_code": self.graph_error.code, "error_subcode": self.graph_error.subcode}
        return {**super().body(), "errors": [self.message], "meta": meta}


class MetaUnreachable(AppError):
    """The Graph API could not be reached; nothing changed here."""

    status_code = 502
    error = "WhatsApp API unreachable"


class SubmitRefused(Unprocessable):
    """Failed to submit template"""

    def __init__(self, cause: Unprocessable) -> None:
        super().__init__()
        self.cause = cause

    def body(self) -> dict[str, Any]:
        """The reference's submit 422: ``status: "error"``, ``error`` says why."""
        return {
            **self.cause.body(),
            "status": "error",
            "message": self.message,
            "error": self.cause.message,
        }


async def config_ids_by_account(
    resources: Resources, project: Project
) -> dict[str, list[uuid.UUID]]:
    """:func:`service.config_ids_by_account` in a read session of its own."""
    async with resources.db.read() as session:
        return await service.config_ids_by_account(session, project)


async def submit(
    resources: Resources, project: Project, template_id: uuid.UUID, body: SubmitRequest
) -> WhatsappTemplate:
    """Submit a draft (or rejected) template to Meta for review; Meta's id is recorded."""
    try:
        return await _submit(resources, project, template_id, body)
    except Unprocessable as refusal:
        raise SubmitRefused(refusal) from None


async def _submit(
    resources: Resources, project: Project, template_id: uuid.UUID, body: SubmitRequest
) -> WhatsappTemplate:
    async with resources.db.read() as session:
        template = await service.get(session, project.id, template_id)
        service.check_submittable(template)
        config_id = body.whatsapp_config_id or template.whatsapp_config_id
        config = await service.config_for(session, project, config_id, body.customer_id)
        account = graph.account_of(config, resources.settings, resources.cipher)
        request = service.graph_body(template)
    answer = await _call(
        account.client(resources.http).create_template(account.waba_id, request), "submit"
    )
    async with resources.db.transaction() as session:
        return await service.record_submission(session, project.id, template_id, answer, utcnow())


async def delete(
    resources: Resources, project: Project, template_id: uuid.UUID
) -> WhatsappTemplate:
    """Delete the template from Meta (when Meta has it), then mark it removed here."""
    async with resources.db.read() as session:
        template = await service.get(session, project.id, template_id)
        if template.status == "removed":
            return template
        account = None
        if template.meta_template_id is not None:
            config = await service.config_for(session, project, template.whatsapp_config_id, None)
            account = graph.account_of(config, resources.settings, resources.cipher)
        name, meta_id = template.name, template.meta_template_id
    if account is not None and meta_id is not None:
        client = account.client(resources.http)
        await _call(client.delete_template(account.waba_id, name, hsm_id=meta_id), "delete")
    async with resources.db.transaction() as session:
        return await service.mark_removed(session, project.id, template_id, utcnow())


async def edit_on_meta(
    resources: Resources, project: Project, template_id: uuid.UUID, changes: MetaChanges
) -> WhatsappTemplate:
    """Edit an approved, rejected or disabled template's category or components on Meta."""
    async with resources.db.read() as session:
        template = await service.get(session, project.id, template_id)
        request = _edit_request(template, changes)
        config = await service.config_for(session, project, template.whatsapp_config_id, None)
        account = graph.account_of(config, resources.settings, resources.cipher)
        meta_id = template.meta_template_id
    assert meta_id is not None
    await _call(account.client(resources.http).edit_template(meta_id, request), "edit")
    async with resources.db.transaction() as session:
        return await service.record_edit(session, project.id, template_id, request, utcnow())


def _edit_request(template: WhatsappTemplate, changes: MetaChanges) -> dict[str, Any]:
    if template.status not in ("approved", "rejected", "disabled") or not template.meta_template_id:
        raise service.TemplateStateError(
            "Only approved, rejected or disabled templates can be edited on Meta"
        )
    request: dict[str, Any] = {}
    problems: list[str] = []
    if changes.category is not None:
        if template.status == "approved" and changes.category != template.category:
            problems.append("category: an approved template's category cannot change")
        request["category"] = changes.category
    if changes.components is not None:
        request["components"] = normalized(changes.components)
        category = changes.category or template.category
        problems += check_components(request["components"], template.parameter_format, category)
    if changes.time_to_live is not None:
        request["message_send_ttl_seconds"] = changes.time_to_live
    if problems or not request:
        raise service.InvalidTemplate(problems or ["template: nothing to change"])
    return request


async def _call(call: Any, what: str) -> dict[str, Any]:
    try:
        answer = await call
    except GraphError as error:
        raise MetaRefused(error, f"Failed to {what} the template on WhatsApp") from None
    except WhatsAppError as error:
        raise MetaUnreachable(f"Failed to {what} the template: {error}") from None
    return answer if isinstance(answer, dict) else {}
