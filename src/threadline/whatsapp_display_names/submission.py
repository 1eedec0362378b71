"""Asking Meta for a new display name: the Graph call a create waits for.

The request row is inserted (``submitted``) and committed first, so the partial unique
index holds the one active slot while Meta is asked; the Graph calls run with no session
open, on the process's pooled HTTP client and the config's token, like the templates'
submit (AGENTS.md: never hold a session across external I/O); Meta's answer is recorded
in a second transaction.

Meta's refusal is answered **201 with status ``failed``** and Meta's error in the
``meta_error_*`` fields, not a 422: the reference's record carries those fields, so a
refused request is a record of its own (listed in the history, not blocking another),
and the rule "a 422 creates nothing" keeps the 422 for input refused before Meta is asked
(a sandbox config, another request active). An unreachable Graph API is a 502, the
request recorded ``failed`` with what went wrong.
"""

from __future__ import annotations

import uuid

from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Project, WhatsappDisplayNameRequest
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import GraphError, WhatsAppError
from threadline.whatsapp_display_names import service
from threadline.whatsapp_templates.graph import account_of
from threadline.whatsapp_templates.submission import MetaUnreachable


async def create(
    resources: Resources, project: Project, config_id: uuid.UUID, name: str
) -> WhatsappDisplayNameRequest:
    """Open the request, ask Meta to review ``name``, record Meta's answer."""
    async with resources.db.read() as session:
        config = await service.requestable_config(session, project, config_id, utcnow())
        client = account_of(config, resources.settings, resources.cipher).client(resources.http)
    previous = await current_name(client)
    async with resources.db.transaction() as session:
        opened = await service.open_request(
            session, project.id, config_id, name, previous, utcnow()
        )
        key = (config_id, opened.id)
    error, unreachable = await _ask(client, name)
    async with resources.db.transaction() as session:
        row = await service.record_answer(session, project, key, error, utcnow())
    if unreachable is not None:
        raise MetaUnreachable(f"Failed to request the display name: {unreachable}")
    return row


async def current_name(client: WhatsAppClient) -> str | None:
    """The number's verified name on Meta now (``None`` if Meta does not say)."""
    try:
        name = (await client.get_phone_number()).get("verified_name")
    except WhatsAppError:
        return None
    return name if isinstance(name, str) and name else None


async def _ask(client: WhatsAppClient, name: str) -> tuple[GraphError | None, str | None]:
    """Meta's refusal (or ``None``), and what went wrong if Meta was not reached."""
    try:
        await client.request_display_name(name)
    except GraphError as error:
        return error, None
    except WhatsAppError as error:
        return GraphError(str(error), http_status=502), str(error)
    return None, None
