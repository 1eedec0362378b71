"""What the setup page does: connect a sandbox number, or run embedded signup's exchange.

The sandbox way creates the customer's sandbox WhatsApp config (the same
``whatsapp_configs.create`` as ``POST /customers/{id}/whatsapp_configs``) and uses the link,
in one transaction. The Meta way reads the link, commits, then talks to the Graph API
(code -> token, the WABAs the token reaches, their numbers, the app's subscription) with
no session held, and creates the configs and uses the link in a second transaction that
checks the link again. Any failure leaves nothing created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import SANDBOX_IDENTITY, Settings
from threadline.errors import AppError, Unprocessable
from threadline.kit import clock
from threadline.kit.resources import Resources
from threadline.models import Project, SetupLink, WhatsappConfig
from threadline.projects import repository as projects
from threadline.setup_links import service
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import WhatsAppError
from threadline.whatsapp_configs import service as whatsapp_configs
from threadline.whatsapp_configs.schemas import WhatsappConfigCreateFields

log = logging.getLogger("threadline.setup_links")

ConnectionType = Literal["coexistence", "dedicated"]
_MANAGEMENT_SCOPE = "whatsapp_business_management"


class SignupFailed(Unprocessable):
    """The WhatsApp signup did not complete: nothing was connected."""

    error = "WhatsApp signup failed"


@dataclass(frozen=True)
class Connected:
    """A link used: the configs it created, and where to send the customer."""

    link: SetupLink
    configs: list[WhatsappConfig]


@dataclass(frozen=True)
class SharedNumber:
    """A number embedded signup shared: its WABA and what Meta says of it."""

    waba_id: str
    number: dict[str, Any]


def meta_enabled(settings: Settings) -> bool:
    """Whether setup pages offer Facebook's embedded signup (a Meta app is configured)."""
    return bool(settings.meta_app_id and settings.meta_app_secret)


def sandbox_enabled(settings: Settings) -> bool:
    """Whether setup pages offer a sandbox number."""
    return settings.sandbox_enabled or bool(settings.sandbox_url)


async def connect_sandbox(resources: Resources, token: str) -> Connected:
    """Give the link's customer a sandbox config and use the link (one transaction)."""
    if not sandbox_enabled(resources.settings):
        raise SignupFailed("This server has no WhatsApp sandbox")
    fields = WhatsappConfigCreateFields(name="WhatsApp Sandbox", kind="sandbox")
    async with resources.db.transaction() as session:
        now = clock.utcnow()
        link = await service.open_link(session, token, now)
        project = await _project(session, link)
        config = await whatsapp_configs.create(
            session,
            project,
            resources.settings,
            resources.cipher,
            customer_id=link.customer_id,
            fields=fields,
        )
        await service.mark_used(session, link, config.id, now)
    log.info("setup link used", extra={"setup_link_id": str(link.id), "kind": "sandbox"})
    return Connected(link=link, configs=[config])


async def connect_meta(
    resources: Resources, token: str, code: str, connection_type: ConnectionType
) -> Connected:
    """Embedded signup's ``code`` exchanged and the numbers it shared connected."""
    settings = resources.settings
    if not meta_enabled(settings):
        raise SignupFailed("This server has no Meta app configured for embedded signup")
    async with resources.db.read() as session:
        link = await service.open_link(session, token, clock.utcnow())
        allowed = list(link.allowed_connection_types)
    if connection_type not in allowed:
        raise SignupFailed(f"The connection type {connection_type} is not offered by this link")
    access_token, shared = await _exchange(resources, code)
    async with resources.db.transaction() as session:
        now = clock.utcnow()
        link = await service.open_link(session, token, now)
        project = await _project(session, link)
        configs = [
            await _create_config(resources, session, project, link, access_token, item)
            for item in shared
        ]
        for config in configs:
            config.is_coexistence = connection_type == "coexistence"
        await service.mark_used(session, link, configs[0].id, now)
    log.info("setup link used", extra={"setup_link_id": str(link.id), "kind": "meta"})
    return Connected(link=link, configs=configs)


async def _exchange(resources: Resources, code: str) -> tuple[str, list[SharedNumber]]:
    settings = resources.settings
    assert settings.meta_app_id and settings.meta_app_secret  # meta_enabled
    app_token = f"{settings.meta_app_id}|{settings.meta_app_secret}"
    try:
        app = _client(resources, app_token)
        token = await app.exchange_code(
            app_id=settings.meta_app_id, app_secret=settings.meta_app_secret, code=code
        )
        waba_ids = _shared_wabas(await app.debug_token(token))
        business = _client(resources, token)
        shared = [await _numbers_of(business, waba_id) for waba_id in waba_ids]
    except WhatsAppError as exc:
        log.warning("embedded signup exchange failed: %s", exc)
        raise SignupFailed(f"Meta refused the signup: {exc}") from exc
    numbers = [number for group in shared for number in group]
    if not numbers:
        raise SignupFailed("The signup shared no WhatsApp phone number")
    return token, numbers


async def _numbers_of(client: WhatsAppClient, waba_id: str) -> list[SharedNumber]:
    numbers = await client.list_phone_numbers(waba_id)
    await client.subscribe_app(waba_id)
    return [SharedNumber(waba_id=waba_id, number=number) for number in numbers]


def _shared_wabas(token_info: dict[str, Any]) -> list[str]:
    """The WABAs of the management scope in ``debug_token``'s ``granular_scopes``."""
    found: list[str] = []
    for scope in token_info.get("granular_scopes") or []:
        if isinstance(scope, dict) and scope.get("scope") == _MANAGEMENT_SCOPE:
            targets = scope.get("target_ids") or []
            found.extend(str(t) for t in targets if str(t) not in found)
    return found


def _client(resources: Resources, token: str) -> WhatsAppClient:
    return WhatsAppClient(
        resources.http,
        base_url=resources.settings.graph_url,
        phone_number_id="",
        access_token=token,
        api_version=SANDBOX_IDENTITY.api_version,
    )


async def _create_config(
    resources: Resources,
    session: AsyncSession,
    project: Project,
    link: SetupLink,
    access_token: str,
    shared: SharedNumber,
) -> WhatsappConfig:
    number = shared.number
    display = str(number.get("display_phone_number") or "")
    try:
        fields = WhatsappConfigCreateFields(
            name=str(number.get("verified_name") or display or number.get("id")),
            kind="production",
            phone_number_id=str(number.get("id")),
            business_account_id=shared.waba_id,
            display_phone_number=display or None,
            access_token=access_token,
            graph_url=resources.settings.graph_url,
        )
    except ValidationError as exc:
        raise SignupFailed(f"Meta described a number Threadline cannot use: {exc}") from exc
    return await whatsapp_configs.create(
        session,
        project,
        resources.settings,
        resources.cipher,
        customer_id=link.customer_id,
        fields=fields,
    )


async def _project(session: AsyncSession, link: SetupLink) -> Project:
    project = await projects.get(session, link.project_id)
    if project is None:  # the link's row references it
        raise AppError("The setup link's project is missing")
    return project


def failure_reason(error: AppError) -> str:
    """A short machine code for a failure redirect's ``error`` parameter."""
    if isinstance(error, service.SetupLinkGone | service.SetupLinkNotFound):
        return "link_invalid"
    if isinstance(error, whatsapp_configs.PhoneNumberTaken):
        return "phone_number_taken"
    return "signup_failed"
