"""The URLs Meta's webhooks call: one for the Meta app, and one per WhatsApp config."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.dependencies import AppResources, get_resources
from threadline.inbound import receiver
from threadline.inbound.group import GroupCommit
from threadline.kit.openapi import ERROR_RESPONSES

router = APIRouter(
    prefix="/webhooks/whatsapp", tags=["WhatsApp webhooks"], responses=ERROR_RESPONSES
)

SIGNATURE_HEADER = "X-Hub-Signature-256"


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The handshake GET records the verification: it needs a write transaction.
    async with get_resources(request).db.transaction() as session:
        yield session


WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
Mode = Annotated[str | None, Query(alias="hub.mode")]
Token = Annotated[str | None, Query(alias="hub.verify_token")]
Challenge = Annotated[str | None, Query(alias="hub.challenge")]


def _secrets(resources: AppResources) -> receiver.Secrets:
    settings = resources.settings
    return receiver.Secrets(resources.cipher, settings.meta_app_secret, settings.meta_verify_token)


@router.get("", response_class=PlainTextResponse, summary="Meta's webhook verification")
async def verify_app(
    session: WriteSession, resources: AppResources, mode: Mode, token: Token, challenge: Challenge
) -> str:
    """Answer ``hub.challenge`` when ``hub.verify_token`` is ``THREADLINE_META_VERIFY_TOKEN``."""
    return await receiver.verify_subscription(
        session, mode=mode, token=token, challenge=challenge, secrets=_secrets(resources)
    )


def ingest_group(request: Request) -> GroupCommit:
    """The process's group commit (``create_app`` makes it)."""
    group: GroupCommit = request.app.state.ingest_group
    return group


async def _receive(request: Request, config_id: uuid.UUID | None = None) -> dict[str, bool]:
    # Not the AppResources dependency: a plain function dependency runs in a worker
    # thread, a hop per delivery that the hot path does not need.
    resources = get_resources(request)
    body = await request.body()
    header = request.headers.get(SIGNATURE_HEADER)
    async with resources.db.read() as session:
        accepted = await receiver.accept(session, body, header, _secrets(resources), config_id)
    await ingest_group(request).store(resources.db, accepted)
    return {"received": True}


@router.post("", summary="Receive a webhook delivery of the Meta app")
async def receive_app(request: Request) -> dict[str, bool]:
    """Store a signed delivery for any number (routed by ``metadata.phone_number_id``).

    The 200 comes once the delivery is stored (with others, see ``inbound/group.py``).
    """
    return await _receive(request)


@router.get("/{config_id}", response_class=PlainTextResponse, summary="Verification, one number")
async def verify_config(
    config_id: uuid.UUID,
    session: WriteSession,
    resources: AppResources,
    mode: Mode,
    token: Token,
    challenge: Challenge,
) -> str:
    """Answer ``hub.challenge`` when ``hub.verify_token`` is the config's verify token."""
    return await receiver.verify_subscription(
        session,
        mode=mode,
        token=token,
        challenge=challenge,
        secrets=_secrets(resources),
        config_id=config_id,
    )


@router.post("/{config_id}", summary="Receive a webhook delivery for one number")
async def receive_config(config_id: uuid.UUID, request: Request) -> dict[str, bool]:
    """Store a signed delivery for the config (its own app secret, if it has one)."""
    return await _receive(request, config_id)
