"""WhatsApp configs: which number a flow sends from, and how to reach its Graph API."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import SANDBOX_IDENTITY
from threadline.errors import NotFound, Unprocessable
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.models import Project, WhatsappConfig
from threadline.whatsapp_configs import repository


class WhatsappConfigNotFound(NotFound):
    """The WhatsApp config does not exist in this project."""

    error = "WhatsApp config not found"


SANDBOX_KIND = "sandbox"


class UnknownWhatsappConfig(Unprocessable):
    """whatsapp_config_id names no WhatsApp config of this project (omit it for the default)."""

    error = "Invalid WhatsApp config"

    def __init__(self) -> None:
        super().__init__()
        self.details = self.message  # the reference's 422 body: {"error", "details": "<why>"}


def add_sandbox_config(session: AsyncSession, project: Project, cipher: Cipher) -> WhatsappConfig:
    """Give ``project`` a default config on the embedded sandbox.

    It stores no address: each process sending for it resolves the sandbox of the
    server it belongs to (``Settings.sandbox_graph_url``), whatever port made the project.
    """
    sandbox = SANDBOX_IDENTITY
    now = utcnow()
    config = WhatsappConfig(
        id=uuid.uuid4(),
        project_id=project.id,
        name="Sandbox",
        kind=SANDBOX_KIND,
        phone_number_id=sandbox.phone_number_id,
        display_phone_number=sandbox.display_phone_number,
        waba_id=sandbox.waba_id,
        base_url="",
        api_version=sandbox.api_version,
        access_token_encrypted=cipher.encrypt(sandbox.access_token),
        is_default=True,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, config)
    return config


async def resolve(
    session: AsyncSession, project: Project, config_id: uuid.UUID | None
) -> WhatsappConfig:
    """The named config of ``project``, or its default one when none is named."""
    if config_id is not None:
        config = await repository.get(session, project.id, config_id)
        if config is None:
            raise UnknownWhatsappConfig()
        return config
    config = await repository.default_for(session, project.id)
    if config is None:
        raise Unprocessable("The project has no default WhatsApp config")
    return config


async def get_by_id(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID
) -> WhatsappConfig | None:
    """A config by id within a project, or None (used by delivery)."""
    return await repository.get(session, project_id, config_id)


async def list_for(session: AsyncSession, project: Project) -> list[WhatsappConfig]:
    """Every config of ``project``."""
    return await repository.list_for(session, project.id)


async def find_by_phone_number_id(
    session: AsyncSession, phone_number_id: str
) -> list[WhatsappConfig]:
    """The configs inbound messages on ``phone_number_id`` may belong to (any project)."""
    return await repository.by_phone_number_id(session, phone_number_id)


async def find_by_id(session: AsyncSession, config_id: uuid.UUID) -> WhatsappConfig | None:
    """A config by id in any project: its per-config webhook URL names it."""
    return await repository.by_id(session, config_id)


def app_secret(config: WhatsappConfig, cipher: Cipher, default: str | None) -> str | None:
    """The secret Meta signs this number's webhooks with: its own, the sandbox's, or the app's."""
    if config.app_secret_encrypted:
        return cipher.decrypt(config.app_secret_encrypted)
    if config.kind == SANDBOX_KIND:
        return SANDBOX_IDENTITY.app_secret
    return default


def verify_token(config: WhatsappConfig, cipher: Cipher) -> str | None:
    """The token Meta's handshake must present for this config, if one was set."""
    if config.webhook_verify_token_encrypted:
        return cipher.decrypt(config.webhook_verify_token_encrypted)
    return None
