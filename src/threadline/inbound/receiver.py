"""Receiving a webhook delivery: check the signature, store it, answer at once.

Before the 200, the delivery is stored as it came and its items are stored as rows
(messages, statuses) in the same transaction: once Meta has its answer, a message is in
its conversation's inbox, so messages are processed in Meta's order even when the
deliveries that carried them were processed out of order. No flow runs in the request:
the conversation's inbox job does that. If storing the items fails unexpectedly, the
delivery stays ``pending`` and the ``inbound.process`` job stores them later.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.errors import Forbidden, NotFound, Unauthorized
from threadline.inbound import envelope, ingest, signature
from threadline.jobs.queue import enqueue
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.models import InboundWebhook, WhatsappConfig
from threadline.whatsapp_configs import service as configs

PROCESS_TASK = "inbound.process"
log = logging.getLogger("threadline.inbound")


class BadSignature(Unauthorized):
    """X-Hub-Signature-256 is missing or does not sign this body with the Meta app's secret."""

    error = "Invalid signature"


class VerificationFailed(Forbidden):
    """hub.mode must be "subscribe" and hub.verify_token the token configured for this URL."""

    error = "Verification failed"


class UnknownWebhookConfig(NotFound):
    """No WhatsApp config has this id: use the URL shown for the config, or /webhooks/whatsapp."""

    error = "WhatsApp config not found"


@dataclass(frozen=True)
class Secrets:
    """What the receiver checks with: the app's secret and token, and the cipher of the rest."""

    cipher: Cipher
    app_secret: str | None
    verify_token: str | None


@dataclass(frozen=True)
class Accepted:
    """A delivery whose signature checked out: what is stored (see ``inbound/group.py``)."""

    body: str
    config_id: uuid.UUID | None
    delivery: envelope.Envelope
    project_id: uuid.UUID | None = None  # the per-config URL's project; else found per item


async def accept(
    session: AsyncSession,
    body: bytes,
    header: str | None,
    secrets: Secrets,
    config_id: uuid.UUID | None = None,
) -> Accepted:
    """The delivery if ``header`` signs it; nothing is written (``session`` only reads)."""
    delivery = envelope.parse(body)
    scope = await _scope(session, config_id)
    candidates = await _signing_secrets(session, delivery, scope, secrets)
    if not signature.is_valid(body, header, candidates):
        raise BadSignature()
    project_id = scope.project_id if scope is not None else None
    return Accepted(body.decode(), config_id, delivery, project_id)


async def store(session: AsyncSession, accepted: Accepted, settings: Settings) -> int:
    """Store an accepted delivery and its items in ``session``; the stored row's id."""
    row = InboundWebhook(
        project_id=accepted.project_id,
        whatsapp_config_id=accepted.config_id,
        body=accepted.body,
        status="pending",
        item_count=0,
        received_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    await _store_items(session, row, settings, accepted.delivery)
    return row.id


async def receive(
    session: AsyncSession,
    body: bytes,
    header: str | None,
    secrets: Secrets,
    settings: Settings,
    config_id: uuid.UUID | None = None,
) -> int:
    """Store a signed delivery and its items; the stored row's id."""
    accepted = await accept(session, body, header, secrets, config_id)
    return await store(session, accepted, settings)


async def _store_items(
    session: AsyncSession, row: InboundWebhook, settings: Settings, delivery: envelope.Envelope
) -> None:
    now = utcnow()
    try:
        async with session.begin_nested():
            report = await ingest.process(session, row, settings, now, delivery=delivery)
    except Exception:
        log.exception("webhook items not stored now; a job retries", extra={"webhook": row.id})
        await enqueue(session, PROCESS_TASK, {"webhook_id": row.id}, project_id=row.project_id)
        return
    ingest.finish(row, report, now)


async def _scope(session: AsyncSession, config_id: uuid.UUID | None) -> WhatsappConfig | None:
    if config_id is None:
        return None
    config = await configs.find_by_id(session, config_id)
    if config is None:
        raise UnknownWebhookConfig()
    return config


async def _signing_secrets(
    session: AsyncSession,
    delivery: envelope.Envelope,
    scope: WhatsappConfig | None,
    secrets: Secrets,
) -> list[str]:
    """The app's secret plus the overrides of the configs the delivery is about."""
    found = [] if secrets.app_secret is None else [secrets.app_secret]
    if scope is not None:
        numbers = [scope]
    else:
        numbers = [
            config
            for number in sorted(delivery.phone_number_ids())
            for config in await configs.find_by_phone_number_id(session, number)
        ]
        for waba_id in sorted(delivery.business_account_ids()):
            numbers += await configs.find_by_waba_id(session, waba_id)
    for config in numbers:
        secret = configs.app_secret(config, secrets.cipher, secrets.app_secret)
        if secret and secret not in found:
            found.append(secret)
    return found


async def verify_subscription(
    session: AsyncSession,
    *,
    mode: str | None,
    token: str | None,
    challenge: str | None,
    secrets: Secrets,
    config_id: uuid.UUID | None = None,
) -> str:
    """Meta's GET handshake: the challenge back if the token is the one configured."""
    if mode != "subscribe" or not token or challenge is None:
        raise VerificationFailed()
    scope = None if config_id is None else await configs.load_by_id(session, config_id)
    if config_id is not None and scope is None:
        raise UnknownWebhookConfig()
    expected = (
        configs.verify_token(scope, secrets.cipher) if scope is not None else secrets.verify_token
    )
    if expected is None or not hmac.compare_digest(expected, token):
        raise VerificationFailed()
    if scope is not None:
        scope.webhook_verified_at = utcnow()
    log.info("webhook subscription verified", extra={"whatsapp_config_id": str(config_id)})
    return challenge
