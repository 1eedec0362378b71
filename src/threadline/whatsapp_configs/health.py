"""A config's health: what the Graph API says of its number, its WABA and their webhooks.

The phone number and the WhatsApp Business Account must answer with the config's token
(``unhealthy`` otherwise: a bad token, an unknown id). A number Meta reports it cannot
send from is ``unhealthy`` (BLOCKED) or ``degraded`` (LIMITED); so is a WABA with no app
subscribed to its webhooks, or a production number whose webhook handshake never
happened. ``error`` means the Graph API could not be reached at all. Every failed check
carries Meta's error as Meta answered it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.kit.clock import utcnow
from threadline.kit.crypto import Cipher
from threadline.models import Project
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import GraphError, WhatsAppError
from threadline.whatsapp_configs.schemas import (
    HealthCheck,
    HealthChecks,
    HealthReport,
    HealthStatus,
    MessagingHealthCheck,
)
from threadline.whatsapp_configs.service import SANDBOX_KIND, get, graph_url

T = TypeVar("T")
_CRITICAL = ("phone_number_access", "business_account_access")
_PHONE_KEYS = (
    "id",
    "verified_name",
    "display_phone_number",
    "quality_rating",
    "code_verification_status",
    "platform_type",
)


@dataclass(frozen=True)
class _Probe:
    """What the checks need of the config, read before any request leaves."""

    graph_url: str
    phone_number_id: str
    waba_id: str
    access_token: str
    api_version: str
    sandbox: bool
    webhook_verified_at: datetime | None
    webhook_url: str


class _Unreachable(Exception):
    """The Graph API could not be reached (as opposed to answering with an error)."""


async def check(
    session: AsyncSession,
    project: Project,
    settings: Settings,
    cipher: Cipher,
    http: httpx.AsyncClient,
    config_id: uuid.UUID,
) -> HealthReport:
    """Ask the Graph API about the config's number and WABA; report each check.

    The read transaction ends before the first request: no session is held across I/O.
    """
    config = await get(session, project, config_id)
    probe = _Probe(
        graph_url=graph_url(config, settings),
        phone_number_id=config.phone_number_id,
        waba_id=config.waba_id,
        access_token=cipher.decrypt(config.access_token_encrypted),
        api_version=config.api_version,
        sandbox=config.kind == SANDBOX_KIND,
        webhook_verified_at=config.webhook_verified_at,
        webhook_url=f"{settings.webhook_url()}/{config.id}",
    )
    await session.close()
    return await _run(http, probe)


async def _run(http: httpx.AsyncClient, probe: _Probe) -> HealthReport:
    client = WhatsAppClient(
        http,
        base_url=probe.graph_url,
        phone_number_id=probe.phone_number_id,
        access_token=probe.access_token,
        api_version=probe.api_version,
    )
    phone, waba, apps = await asyncio.gather(
        _ask(client.get_phone_number()),
        _ask(client.get_business_account(probe.waba_id)),
        _ask(client.list_subscribed_apps(probe.waba_id)),
    )
    checks = HealthChecks(
        phone_number_access=_phone_check(phone),
        business_account_access=_waba_check(waba),
        messaging_health=_messaging_check(phone),
        webhook_subscription=_subscription_check(apps),
        webhook_verified=_verified_check(probe),
    )
    return _report(checks, [r for r in (phone, waba, apps) if isinstance(r, _Unreachable)])


async def _ask(call: Awaitable[T]) -> T | GraphError | _Unreachable:
    try:
        return await call
    except GraphError as error:
        return error
    except WhatsAppError as error:
        return _Unreachable(str(error))


def _failed(answer: GraphError | _Unreachable, what: str) -> HealthCheck:
    if isinstance(answer, _Unreachable):
        return HealthCheck(passed=False, error=f"{what}: the Graph API was not reached: {answer}")
    graph_error = {
        "code": answer.code,
        "error_subcode": answer.subcode,
        "type": answer.error_type,
        "message": answer.message,
        "http_status": answer.http_status,
        "fbtrace_id": answer.fbtrace_id,
    }
    graph_error = {key: value for key, value in graph_error.items() if value is not None}
    text = f"{what}: Meta answered HTTP {answer.http_status}, error {answer.code}: {answer.message}"
    return HealthCheck(passed=False, error=text, graph_error=graph_error)


def _phone_check(answer: dict[str, Any] | GraphError | _Unreachable) -> HealthCheck:
    if not isinstance(answer, dict):
        return _failed(answer, "The phone number could not be read")
    return HealthCheck(passed=True, details={k: answer[k] for k in _PHONE_KEYS if k in answer})


def _waba_check(answer: dict[str, Any] | GraphError | _Unreachable) -> HealthCheck:
    if not isinstance(answer, dict):
        return _failed(answer, "The WhatsApp Business Account could not be read")
    keys = ("id", "name", "currency", "timezone_id")
    return HealthCheck(passed=True, details={k: answer[k] for k in keys if k in answer})


def _messaging_check(answer: dict[str, Any] | GraphError | _Unreachable) -> MessagingHealthCheck:
    if not isinstance(answer, dict):
        return MessagingHealthCheck(
            passed=False, overall_status="UNKNOWN", error="The phone number could not be read"
        )
    health = answer.get("health_status")
    if not isinstance(health, dict) or not isinstance(health.get("can_send_message"), str):
        details = {"message": "Meta reported no health_status for this number"}
        return MessagingHealthCheck(passed=True, overall_status="UNKNOWN", details=details)
    status = health["can_send_message"]
    details = {"can_send_message": status, "entities": health.get("entities", [])}
    return MessagingHealthCheck(
        passed=status == "AVAILABLE", overall_status=status, details=details
    )


def _subscription_check(answer: list[dict[str, Any]] | GraphError | _Unreachable) -> HealthCheck:
    if not isinstance(answer, list):
        return _failed(answer, "The WABA's webhook subscriptions could not be read")
    apps = [app.get("whatsapp_business_api_data", app) for app in answer]
    if not apps:
        error = "No Meta app is subscribed to this WABA's webhooks: POST /{waba_id}/subscribed_apps"
        return HealthCheck(passed=False, details={"subscribed": False}, error=error)
    details = {"subscribed": True, "app_id": apps[0].get("id"), "apps": apps}
    return HealthCheck(passed=True, details=details)


def _verified_check(probe: _Probe) -> HealthCheck:
    if probe.sandbox:
        message = "The sandbox delivers this number's webhooks to this server itself"
        return HealthCheck(passed=True, details={"message": message})
    if probe.webhook_verified_at is None:
        message = f"Meta has not verified the callback URL {probe.webhook_url} yet"
        return HealthCheck(passed=False, details={"message": message}, error=message)
    details = {"verified_at": probe.webhook_verified_at.isoformat(), "message": "Verified"}
    return HealthCheck(passed=True, details=details)


def _report(checks: HealthChecks, unreachable: list[_Unreachable]) -> HealthReport:
    failed = [name for name, c in checks if isinstance(c, HealthCheck) and not c.passed]
    status: HealthStatus = "healthy"
    if failed:
        blocked = checks.messaging_health.overall_status == "BLOCKED"
        critical = blocked or any(name in _CRITICAL for name in failed)
        status = "unhealthy" if critical else "degraded"
    if unreachable:
        status = "error"
    error = f"Failed checks: {', '.join(failed)}" if failed else None
    if unreachable:
        error = f"The Graph API could not be reached: {unreachable[0]}"
    return HealthReport(status=status, checks=checks, timestamp=utcnow(), error=error)
