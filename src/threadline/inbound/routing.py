"""Which WhatsApp config a webhook item belongs to.

A production number belongs to one config (a unique index). Every sandbox config shares
the sandbox's one number, so a sandbox message is routed by its sender: the phone's
active sandbox session names the config, and a message that is a pending session's
activation code connects the phone. With a single sandbox config (a laptop install),
every sandbox message goes to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.inbound.items import InboundMessage, StatusItem
from threadline.messaging import repository as outbox
from threadline.messaging.statuses import callback_message_id
from threadline.models import SandboxSession, WhatsappConfig
from threadline.sandbox_sessions import service as sandbox_sessions
from threadline.whatsapp_configs import service as configs

SANDBOX_KIND = configs.SANDBOX_KIND


class Unroutable(Exception):
    """No config of this number can take the item (recorded as the item's error)."""


async def scope_of(session: AsyncSession, config_id: uuid.UUID | None) -> WhatsappConfig | None:
    """The config named by the per-config URL the delivery came to, if any."""
    if config_id is None:
        return None
    return await configs.find_by_id(session, config_id)


async def configs_for(
    session: AsyncSession, phone_number_id: str, scope: WhatsappConfig | None
) -> list[WhatsappConfig]:
    """The configs a change on ``phone_number_id`` may belong to."""
    if not phone_number_id:
        return []
    if scope is not None:
        return [scope] if scope.phone_number_id == phone_number_id else []
    return await configs.find_by_phone_number_id(session, phone_number_id)


@dataclass
class SandboxHints:
    """What a group's sandbox messages are routed by, read for the whole group at once:
    the pending codes among their texts, and each sender's active session."""

    codes: set[str]
    active: dict[str, SandboxSession | None]


async def sandbox_hints(
    session: AsyncSession, routed: list[tuple[list[WhatsappConfig], InboundMessage]]
) -> SandboxHints:
    """The hints of the messages that only sandbox configs can take (two statements)."""
    sandbox = [m for candidates, m in routed if all(c.kind == SANDBOX_KIND for c in candidates)]
    texts = [text for m in sandbox if (text := _text(m)) is not None and len(text) <= 16]
    codes = await sandbox_sessions.pending_codes(session, texts) if texts else set()
    phones = sorted({f"+{m.sender}" for m in sandbox})
    active = await sandbox_sessions.active_for_phones(session, phones) if phones else {}
    return SandboxHints(codes, active)


async def config_for_sender(
    session: AsyncSession,
    candidates: list[WhatsappConfig],
    message: InboundMessage,
    now: datetime,
    hints: SandboxHints | None = None,
) -> WhatsappConfig | None:
    """The config a message goes to; None when it was a sandbox activation code.

    With ``hints`` (see :func:`sandbox_hints`), only a text that is a pending code is
    tried as one, and the sender's session is not read again.
    """
    production = [config for config in candidates if config.kind != SANDBOX_KIND]
    if production:
        return production[0]
    phone = f"+{message.sender}"
    text = _text(message)
    maybe_code = hints is None or (
        text is not None and sandbox_sessions.normalise_code(text) in hints.codes
    )
    if text is not None and len(text) <= 16 and maybe_code:
        joined = await sandbox_sessions.activate(session, code=text, phone_number=phone, now=now)
        if joined is not None:
            if hints is not None:
                hints.active[phone] = joined
            return None
    return await _by_session(session, candidates, message.sender, hints)


async def config_for_caller(
    session: AsyncSession, candidates: list[WhatsappConfig], wa_id: str
) -> WhatsappConfig:
    """The config a call with the user ``wa_id`` belongs to (on the sandbox: by session)."""
    production = [config for config in candidates if config.kind != SANDBOX_KIND]
    if production:
        return production[0]
    return await _by_session(session, candidates, wa_id, None)


async def _by_session(
    session: AsyncSession,
    candidates: list[WhatsappConfig],
    wa_id: str,
    hints: SandboxHints | None,
) -> WhatsappConfig:
    """The sandbox config of the user's active session (the only one, if just one)."""
    phone = f"+{wa_id}"
    if hints is not None and phone in hints.active:
        active = hints.active[phone]
    else:
        active = await sandbox_sessions.active_for_phone(session, phone)
    by_id = {config.id: config for config in candidates}
    if active is not None and active.whatsapp_config_id in by_id:
        return by_id[active.whatsapp_config_id]
    if len(candidates) == 1:
        return candidates[0]
    raise Unroutable(
        f"the sandbox number is shared by {len(candidates)} projects and {phone} "
        "has no active sandbox session: create one (POST /sandbox_sessions) and send its code"
    )


async def config_for_status(
    session: AsyncSession, candidates: list[WhatsappConfig], status: StatusItem
) -> WhatsappConfig:
    """The config whose outbound message the status is about."""
    if len(candidates) == 1:
        return candidates[0]
    ids = [config.id for config in candidates]
    owner = await outbox.owner_of(session, ids, wamid=status.id)
    message_id = callback_message_id(status.biz_opaque_callback_data or "")
    if owner is None and message_id is not None:
        owner = await outbox.owner_of(session, ids, message_id=message_id)
    for config in candidates:
        if config.id == owner:
            return config
    return candidates[0]


def _text(message: InboundMessage) -> str | None:
    if message.type != "text":
        return None
    body = (message.raw.get("text") or {}).get("body")
    return body.strip() if isinstance(body, str) else None
