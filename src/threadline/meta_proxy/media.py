"""Media through the proxy: forwarded to the number's Graph API (Meta, or the sandbox).

No session is held across a Graph call: the number's endpoint and token are read in a
read-only session that ends first. ``GET {media_id}`` answers Meta's metadata with
``url`` replaced by a Threadline download URL: the Meta URL needs the Meta token, which
the client does not have. That URL carries a short-lived encrypted token naming the
project, number and media (Meta's own URLs also expire in minutes), so a client may
fetch it without headers, as the Kapso clients do for a non-Kapso host.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.fernet import InvalidToken

from threadline.kit.resources import Resources
from threadline.messaging.outcomes import DeliveryTarget, config_target
from threadline.meta_proxy.errors import GraphRelay, GraphUpstream, UnknownObject
from threadline.meta_proxy.service import config_for
from threadline.whatsapp.errors import GraphError, WhatsAppError
from threadline.whatsapp_messages.media import MediaResponse
from threadline.whatsapp_messages.service import MediaSource

log = logging.getLogger("threadline.meta_proxy")
DOWNLOAD_TTL_SECONDS = 300


@dataclass(frozen=True)
class Number:
    """A number of the caller's project, where its Graph API is."""

    project_id: uuid.UUID
    phone_number_id: str
    target: DeliveryTarget


async def number(resources: Resources, project_id: uuid.UUID, phone_number_id: str) -> Number:
    """The project's number, read in a session that ends before any Graph call."""
    async with resources.db.read() as session:
        config = await config_for(session, project_id, phone_number_id)
    sandbox_url = resources.settings.sandbox_graph_url()
    target = config_target(config, resources.cipher, sandbox_url=sandbox_url)
    return Number(project_id, phone_number_id, target)


async def _graph(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A Graph call's answer; Graph's refusal is passed on, a failure to reach it is a 502."""
    try:
        return await call
    except GraphError as error:
        if isinstance(error.body, dict) and isinstance(error.body.get("error"), dict):
            raise GraphRelay(error.http_status, error.body) from None
        raise GraphUpstream(f"the Graph API answered {error.http_status}") from None
    except WhatsAppError as error:
        log.warning("media call to the Graph API failed: %s", error)
        raise GraphUpstream() from None


async def upload(
    http: httpx.AsyncClient, to: Number, data: bytes, mime_type: str, filename: str | None
) -> dict[str, Any]:
    """``POST {phone_number_id}/media``: the media id the number's Graph API gave."""
    client = to.target.client(http)
    answer = await _graph(client.upload_media(data, mime_type, filename=filename))
    return {"id": str(answer.get("id", ""))}


async def info(
    resources: Resources, of: Number, media_id: str, download_base: str
) -> dict[str, Any]:
    """``GET {media_id}``: Meta's metadata, ``url`` pointing at Threadline's download."""
    answer = await _graph(of.target.client(resources.http).media_info(media_id))
    token = resources.cipher.encrypt(
        json.dumps({"p": str(of.project_id), "n": of.phone_number_id, "m": media_id})
    )
    url = f"{download_base.rstrip('/')}/{token}"
    return {**answer, "url": url, "download_url": url, "id": str(answer.get("id", media_id))}


async def delete(http: httpx.AsyncClient, of: Number, media_id: str) -> dict[str, Any]:
    """``DELETE {media_id}``: Graph's ``{"success": true}``."""
    await _graph(of.target.client(http).delete_media(media_id))
    return {"success": True}


async def download(resources: Resources, token: str) -> MediaResponse:
    """The media a download token names, streamed from the number's Graph API."""
    try:
        named = json.loads(resources.cipher.decrypt(token, ttl=DOWNLOAD_TTL_SECONDS))
        project_id, phone_number_id = uuid.UUID(named["p"]), str(named["n"])
        media_id = str(named["m"])
    except (InvalidToken, ValueError, KeyError, TypeError):
        raise UnknownObject("The media download URL is invalid or has expired") from None
    of = await number(resources, project_id, phone_number_id)
    return MediaResponse(MediaSource(media_id, None, of.target), resources.http)
