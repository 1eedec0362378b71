"""Shared helpers of the display name tests: a production config on the sandbox's number."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from builders import TestProject, run_jobs
from support import eventually
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig


def requests_url(config_id: str) -> str:
    """The display name requests of a config."""
    return f"/api/v1/whatsapp_configs/{config_id}/display_name_requests"


async def production_config(
    resources: Resources,
    project: TestProject,
    sandbox_url: str,
    *,
    token: str | None = None,
    phone_number_id: str = SANDBOX_IDENTITY.phone_number_id,
) -> str:
    """A production config of ``project`` whose Graph API is the sandbox, on its number
    (a real number belongs to one config: another needs another ``phone_number_id``)."""
    now = utcnow()
    config = WhatsappConfig(
        id=uuid.uuid4(),
        project_id=uuid.UUID(project.id),
        name="Real",
        kind="production",
        phone_number_id=phone_number_id,
        display_phone_number=SANDBOX_IDENTITY.display_phone_number,
        waba_id=SANDBOX_IDENTITY.waba_id,
        base_url=sandbox_url.rstrip("/"),
        api_version="v23.0",
        access_token_encrypted=resources.cipher.encrypt(token or SANDBOX_IDENTITY.access_token),
        is_default=False,
        created_at=now,
        updated_at=now,
    )
    async with resources.db.transaction() as session:
        session.add(config)
    return str(config.id)


async def ask(
    client: httpx.AsyncClient, project: TestProject, config_id: str, name: str
) -> httpx.Response:
    """``POST`` a new display name for the config."""
    body = {"display_name_request": {"new_display_name": name}}
    return await client.post(requests_url(config_id), headers=project.headers, json=body)


async def status_after_review(
    client: httpx.AsyncClient,
    resources: Resources,
    project: TestProject,
    config_id: str,
    request_id: str,
) -> dict[str, Any]:
    """The request once Meta's review webhook was applied to it."""

    async def reviewed() -> dict[str, Any] | None:
        await run_jobs(resources)
        url = f"{requests_url(config_id)}/{request_id}"
        shown = (await client.get(url, headers=project.headers)).json()["data"]
        return None if shown["status"] == "pending_review" else dict(shown)

    return await eventually(reviewed, timeout=10, what="the display name review webhook")
