"""Recording what happened to one outbox message, each inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.messaging import repository, settle, statuses
from threadline.messaging.hooks import execution_hooks, throttled
from threadline.messaging.metrics import DELIVERIES
from threadline.models import WhatsappConfig, WhatsappMessage
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import GraphError
from threadline.whatsapp_configs.service import SANDBOX_KIND
from threadline.whatsapp_configs.service import find_by_id as find_whatsapp_config
from threadline.whatsapp_webhooks import emitters as webhook_events
from threadline.whatsapp_webhooks import names

_TOKENS: dict[str, str] = {}


@dataclass(frozen=True)
class DeliveryTarget:
    """Where and how to send: one WhatsApp config, its token decrypted."""

    base_url: str
    phone_number_id: str
    access_token: str
    api_version: str

    def client(self, http: httpx.AsyncClient) -> WhatsAppClient:
        """A Graph API client for this config, on the process's pooled ``http``."""
        return WhatsAppClient(
            http,
            base_url=self.base_url,
            phone_number_id=self.phone_number_id,
            access_token=self.access_token,
            api_version=self.api_version,
        )


async def target(
    session: AsyncSession, cipher: Cipher, message: WhatsappMessage, *, sandbox_url: str
) -> DeliveryTarget | None:
    """The Graph endpoint of the message's config, or None if the config is gone.

    A sandbox config goes to ``sandbox_url`` (this process's sandbox), whatever
    ``base_url`` an older row may have stored.
    """
    if message.whatsapp_config_id is None:
        return None
    # The cached lookup: a change made in another process is seen within its TTL.
    config = await find_whatsapp_config(session, message.whatsapp_config_id)
    if config is None or config.project_id != message.project_id:
        return None
    return config_target(config, cipher, sandbox_url=sandbox_url)


def config_target(config: WhatsappConfig, cipher: Cipher, *, sandbox_url: str) -> DeliveryTarget:
    """The Graph endpoint and decrypted token of one config (a sandbox one: ``sandbox_url``)."""
    token = _TOKENS.get(config.access_token_encrypted)
    if token is None:
        token = _TOKENS[config.access_token_encrypted] = cipher.decrypt(
            config.access_token_encrypted
        )
    base_url = sandbox_url if config.kind == SANDBOX_KIND else config.base_url
    return DeliveryTarget(base_url, config.phone_number_id, token, config.api_version)


async def start_attempt(session: AsyncSession, message: WhatsappMessage) -> bool:
    """Record the attempt (``sending``) before the call; False if another deliverer did."""
    return await repository.set_status(
        session,
        message.id,
        from_statuses=("queued",),
        values={"status": "sending", "attempts": message.attempts + 1, "attempted_at": utcnow()},
    )


async def _event(session: AsyncSession, message: WhatsappMessage, kind: str, data: Any) -> None:
    # A message sent through the API, not by a flow, has no event log: its row is its record.
    await repository.add_event_for(session, message, kind, data, at=utcnow())


async def sent(session: AsyncSession, message: WhatsappMessage, wamid: str) -> None:
    """The Graph API accepted the message (a late answer also settles an unknown one)."""
    now = utcnow()
    values = {"status": "sent", "wamid": wamid, "sent_at": now, "last_error": None}
    if await repository.set_status(
        session, message.id, from_statuses=("sending", "unknown"), values=values
    ):
        await _event(session, message, "message_sent", {"wamid": wamid})
        DELIVERIES.labels("sent").inc()
        for key, value in values.items():
            setattr(message, key, value)
        await webhook_events.message_row_event(session, names.MESSAGE_SENT, message)
        # Meta's statuses can come in before the answer that names the wamid.
        await statuses.apply_pending(session, message, now)


async def sent_many(session: AsyncSession, accepted: Sequence[tuple[WhatsappMessage, str]]) -> None:
    """:func:`sent` for many messages, with set-based statements: one UPDATE, one INSERT of
    their events, one look for statuses that came before their answers."""
    now = utcnow()
    moved = await repository.mark_sent(session, {m.id: wamid for m, wamid in accepted}, now)
    done = [(m, wamid) for m, wamid in accepted if m.id in moved]
    for message, wamid in done:
        message.status, message.wamid, message.sent_at = "sent", wamid, now
        message.last_error = None
    rows = [
        repository.event_row(m, "message_sent", {"wamid": wamid}, now)
        for m, wamid in done
        if m.execution_id is not None
    ]
    await repository.add_events(session, rows)
    DELIVERIES.labels("sent").inc(len(done))
    for message, _wamid in done:
        await webhook_events.message_row_event(session, names.MESSAGE_SENT, message)
    pairs = [(m.whatsapp_config_id, wamid) for m, wamid in done if m.whatsapp_config_id]
    early = await repository.with_unapplied_statuses(session, pairs)
    for message, wamid in done:
        if (message.whatsapp_config_id, wamid) in early:
            await statuses.apply_pending(session, message, now)


async def requeue(session: AsyncSession, message: WhatsappMessage, error: dict[str, Any]) -> None:
    """The message was certainly not accepted; it goes back in line for a retry."""
    await repository.set_status(
        session,
        message.id,
        from_statuses=("sending",),
        values={"status": "queued", "last_error": error},
    )
    await _event(session, message, "message_retry", {"error": error})
    DELIVERIES.labels("retry").inc()
    await throttled(session, message, error)


async def unknown(session: AsyncSession, message: WhatsappMessage, reason: str) -> None:
    """The attempt may or may not have reached WhatsApp: flagged, then settled (``settle``)."""
    if await repository.set_status(
        session,
        message.id,
        from_statuses=("sending",),
        values={"status": "unknown", "last_error": {"message": reason}},
    ):
        await _event(session, message, "message_outcome_unknown", {"reason": reason})
        DELIVERIES.labels("unknown").inc()
        await settle.schedule(session, message)


async def failed(session: AsyncSession, message: WhatsappMessage, error: dict[str, Any]) -> None:
    """WhatsApp refused the message for good: the execution fails with the error."""
    now = utcnow()
    if not await repository.set_status(
        session,
        message.id,
        from_statuses=("queued", "sending"),
        values={"status": "failed", "last_error": error},
    ):
        return
    await _event(session, message, "message_failed", {"error": error})
    DELIVERIES.labels("failed").inc()
    await throttled(session, message, error)
    message.status, message.last_error = "failed", error
    await webhook_events.message_row_event(session, names.MESSAGE_FAILED, message)
    if message.execution_id is None:
        return
    failure = {**error, "message": f"message delivery failed: {error.get('message')}"}
    await execution_hooks().fail_execution(session, message.execution_id, failure, now)


def error_dict(error: Exception) -> dict[str, Any]:
    """A JSON description of a delivery error."""
    if isinstance(error, GraphError):
        return {
            "message": error.message,
            "code": error.code,
            "http_status": error.http_status,
            "details": error.details,
        }
    return {"message": str(error), "type": type(error).__name__}
