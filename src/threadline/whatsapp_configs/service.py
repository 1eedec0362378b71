"""WhatsApp configs: which number a flow sends from, and how to reach its Graph API."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import SANDBOX_IDENTITY, Settings
from threadline.errors import NotFound, Unprocessable
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.kit.listing import CreatedRange
from threadline.kit.schemas import PageParams
from threadline.models import Project, WhatsappConfig
from threadline.whatsapp_configs import cache, repository
from threadline.whatsapp_configs.schemas import (
    WhatsappConfigCreateFields,
    WhatsappConfigFields,
    WhatsappConfigFilters,
)


class WhatsappConfigNotFound(NotFound):
    """The WhatsApp config does not exist in this project."""

    error = "WhatsApp config not found"


SANDBOX_KIND = "sandbox"
PRODUCTION_KIND = "production"

#: What a production config needs to reach its number.
_PRODUCTION_REQUIRED = ("phone_number_id", "business_account_id", "access_token")
#: What a sandbox config takes from the sandbox, never from the request.
_SANDBOX_FIXED = (
    "phone_number_id",
    "business_account_id",
    "display_phone_number",
    "access_token",
    "graph_url",
)
#: Write-only secrets that ``null`` removes (the access token is required instead).
_CLEARABLE = ("webhook_verify_token", "app_secret")


class InvalidWhatsappConfig(Unprocessable):
    """The WhatsApp config is not valid."""

    error = "Invalid WhatsApp config"

    @classmethod
    def of(cls, problems: dict[str, str]) -> InvalidWhatsappConfig:
        """The error naming each field of ``problems`` and what is wrong with it."""
        errors = [
            {"field": f"whatsapp_config.{field}", "message": why} for field, why in problems.items()
        ]
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        error = cls(text, errors=errors)
        error.details = text
        return error


class PhoneNumberTaken(Unprocessable):
    """Another WhatsApp config already uses this phone_number_id (a number connects once)."""

    error = "Phone number already connected"

    @classmethod
    def of(cls, phone_number_id: str) -> PhoneNumberTaken:
        """The error naming the number and what to do."""
        return cls(
            f"phone_number_id {phone_number_id} is already connected to another WhatsApp "
            "config: delete that config first, or use another number"
        )


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
    config = _sandbox_row(project.id, cipher, name="Sandbox", customer_id=None)
    config.is_default = True
    repository.add(session, config)
    return config


def _sandbox_row(
    project_id: uuid.UUID, cipher: Cipher, *, name: str, customer_id: uuid.UUID | None
) -> WhatsappConfig:
    sandbox = SANDBOX_IDENTITY
    now = utcnow()
    return WhatsappConfig(
        id=uuid.uuid4(),
        project_id=project_id,
        customer_id=customer_id,
        name=name,
        kind=SANDBOX_KIND,
        phone_number_id=sandbox.phone_number_id,
        display_phone_number=sandbox.display_phone_number,
        waba_id=sandbox.waba_id,
        base_url="",
        api_version=sandbox.api_version,
        access_token_encrypted=cipher.encrypt(sandbox.access_token),
        is_default=False,
        created_at=now,
        updated_at=now,
    )


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
    """The configs inbound messages on ``phone_number_id`` may belong to (any project).

    Cached (see ``whatsapp_configs/cache.py``): read-only copies, not rows of ``session``.
    """

    async def load() -> list[WhatsappConfig]:
        found = await repository.by_phone_number_id(session, phone_number_id)
        return [cache.snapshot(config) for config in found]

    return await cache.cache.get(cache.by_number_key(phone_number_id), load)


async def find_by_waba_id(session: AsyncSession, waba_id: str) -> list[WhatsappConfig]:
    """Configs on a business account (any project; the first 100): whose secrets may sign
    a webhook about the account itself, such as a template's review."""
    return await repository.by_waba_id(session, waba_id)


async def find_by_id(session: AsyncSession, config_id: uuid.UUID) -> WhatsappConfig | None:
    """A config by id in any project: its per-config webhook URL names it.

    Cached like :func:`find_by_phone_number_id`: a read-only copy (to change the row,
    use :func:`load_by_id`).
    """

    async def load() -> WhatsappConfig | None:
        found = await repository.by_id(session, config_id)
        return None if found is None else cache.snapshot(found)

    return await cache.cache.get(cache.by_id_key(config_id), load)


async def load_by_id(session: AsyncSession, config_id: uuid.UUID) -> WhatsappConfig | None:
    """The config's row in ``session`` (uncached, for a change), whatever its project."""
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


def graph_url(config: WhatsappConfig, settings: Settings) -> str:
    """Where the config's Graph API requests go: this server's sandbox, or its stored URL."""
    if config.kind == SANDBOX_KIND:
        return settings.sandbox_graph_url()
    return config.base_url or settings.graph_url.rstrip("/")


async def get(session: AsyncSession, project: Project, config_id: uuid.UUID) -> WhatsappConfig:
    """A config of ``project``; :class:`WhatsappConfigNotFound` for any other."""
    config = await repository.get(session, project.id, config_id)
    if config is None:
        raise WhatsappConfigNotFound()
    return config


async def list_page(
    session: AsyncSession,
    project: Project,
    filters: WhatsappConfigFilters,
    created: CreatedRange,
    page: PageParams,
) -> tuple[list[WhatsappConfig], int]:
    """A page of the project's configs (optionally of one customer) and the total."""
    return await repository.list_page(session, project.id, filters, created, page)


async def list_for_customer(
    session: AsyncSession, project: Project, customer_id: uuid.UUID
) -> list[WhatsappConfig]:
    """Every config of one customer of ``project``."""
    return await repository.list_for_customer(session, project.id, customer_id)


async def create(
    session: AsyncSession,
    project: Project,
    settings: Settings,
    cipher: Cipher,
    *,
    customer_id: uuid.UUID,
    fields: WhatsappConfigCreateFields,
) -> WhatsappConfig:
    """A new config of a customer: on the sandbox, or on a real number (ids and token needed)."""
    _check_nulls(fields)
    if fields.kind == SANDBOX_KIND:
        _refuse_sandbox_fixed(fields)
        config = _sandbox_row(project.id, cipher, name=fields.name, customer_id=customer_id)
    else:
        config = _production_row(project.id, settings, cipher, customer_id, fields)
        await _check_number_free(session, config.phone_number_id, None)
    _apply_plain(config, fields, cipher)
    await _save(session, config)
    await _default_if_asked(session, config, fields)
    return config


def _production_row(
    project_id: uuid.UUID,
    settings: Settings,
    cipher: Cipher,
    customer_id: uuid.UUID,
    fields: WhatsappConfigCreateFields,
) -> WhatsappConfig:
    missing = {f: "is required for a production config" for f in _PRODUCTION_REQUIRED}
    missing = {f: why for f, why in missing.items() if getattr(fields, f) is None}
    if missing:
        raise InvalidWhatsappConfig.of(missing)
    assert fields.phone_number_id and fields.business_account_id and fields.access_token
    now = utcnow()
    return WhatsappConfig(
        id=uuid.uuid4(),
        project_id=project_id,
        customer_id=customer_id,
        name=fields.name,
        kind=PRODUCTION_KIND,
        phone_number_id=fields.phone_number_id,
        display_phone_number=fields.display_phone_number or "",
        waba_id=fields.business_account_id,
        base_url=fields.graph_url or settings.graph_url.rstrip("/"),
        api_version=SANDBOX_IDENTITY.api_version,
        access_token_encrypted=cipher.encrypt(fields.access_token),
        is_default=False,
        created_at=now,
        updated_at=now,
    )


async def update(
    session: AsyncSession,
    project: Project,
    cipher: Cipher,
    config_id: uuid.UUID,
    fields: WhatsappConfigFields,
) -> WhatsappConfig:
    """Change the fields sent; secrets are replaced (or, for the clearable ones, removed)."""
    config = await get(session, project, config_id)
    _check_nulls(fields)
    if fields.kind is not None and fields.kind != config.kind:
        raise InvalidWhatsappConfig.of(
            {"kind": f"is {config.kind} and cannot change: create a new {fields.kind} config"}
        )
    if config.kind == SANDBOX_KIND:
        _refuse_sandbox_fixed(fields)
    if fields.phone_number_id is not None and fields.phone_number_id != config.phone_number_id:
        await _check_number_free(session, fields.phone_number_id, config.id)
    _apply_plain(config, fields, cipher)
    config.updated_at = utcnow()
    await _save(session, config)
    await _default_if_asked(session, config, fields)
    return config


async def _default_if_asked(
    session: AsyncSession, config: WhatsappConfig, fields: WhatsappConfigFields
) -> None:
    if fields.is_default and not config.is_default:
        await repository.make_default(session, config.project_id, config.id)
        config.is_default = True


async def _save(session: AsyncSession, config: WhatsappConfig) -> None:
    if not await repository.save_unless_number_taken(session, config):
        raise PhoneNumberTaken.of(config.phone_number_id)


def _check_nulls(fields: WhatsappConfigFields) -> None:
    nulls = {
        name: "cannot be null"
        for name in fields.model_fields_set
        if getattr(fields, name) is None and name not in _CLEARABLE
    }
    if nulls:
        raise InvalidWhatsappConfig.of(nulls)


def _refuse_sandbox_fixed(fields: WhatsappConfigFields) -> None:
    sent = [name for name in _SANDBOX_FIXED if name in fields.model_fields_set]
    if sent:
        why = "is the sandbox's own on a sandbox config: omit it (or use kind production)"
        raise InvalidWhatsappConfig.of(dict.fromkeys(sent, why))


async def _check_number_free(
    session: AsyncSession, phone_number_id: str, config_id: uuid.UUID | None
) -> None:
    holder = await repository.production_by_phone_number_id(session, phone_number_id)
    if holder is not None and holder.id != config_id:
        raise PhoneNumberTaken.of(phone_number_id)


_COLUMNS = {
    "name": "name",
    "phone_number_id": "phone_number_id",
    "business_account_id": "waba_id",
    "display_phone_number": "display_phone_number",
    "graph_url": "base_url",
    "inbound_processing_enabled": "inbound_processing_enabled",
    "calls_enabled": "calls_enabled",
}
_SECRETS = {
    "access_token": "access_token_encrypted",
    "webhook_verify_token": "webhook_verify_token_encrypted",
    "app_secret": "app_secret_encrypted",
}


def _apply_plain(config: WhatsappConfig, fields: WhatsappConfigFields, cipher: Cipher) -> None:
    sent: dict[str, Any] = fields.model_dump(include=fields.model_fields_set)
    for name, value in sent.items():
        if name in _COLUMNS:
            setattr(config, _COLUMNS[name], value)
        elif name in _SECRETS:
            setattr(config, _SECRETS[name], None if value is None else cipher.encrypt(value))
