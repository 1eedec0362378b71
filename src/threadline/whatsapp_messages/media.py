"""Streaming a message's media from the Graph API to the caller, size-capped.

The response does its Graph calls when it is sent, after the request's transaction has
ended: no session is held across them.
"""

from __future__ import annotations

import httpx
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from threadline.errors import AppError, NotFound
from threadline.whatsapp import limits
from threadline.whatsapp.errors import GraphError, WhatsAppError
from threadline.whatsapp_messages.service import MediaSource


class MediaGone(NotFound):
    """WhatsApp no longer has this media (Meta keeps inbound media for a limited time)."""

    error = "Media not found"


class MediaTooLarge(AppError):
    """The media is larger than Threadline proxies."""

    status_code = 502
    error = "Media too large"


class GraphUnavailable(AppError):
    """The WhatsApp Graph API did not hand over the media; try again later."""

    status_code = 502
    error = "Bad gateway"


class MediaResponse(Response):
    """A response that looks the media up, then streams it (an error before it starts is JSON).

    An error after the first byte can only drop the connection: the status is sent.
    """

    def __init__(self, source: MediaSource, http: httpx.AsyncClient) -> None:
        super().__init__()
        self.started = False
        self.mime_type = source.mime_type or ""
        target = source.target
        self.source = source
        self.client = target.client(http)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the media, or the error that stopped it before the first byte."""
        try:
            url, size = await self._locate()
            async with self.client.download(url) as download:
                if not download.is_success:
                    raise GraphUnavailable(f"the media download answered {download.status_code}")
                await self._stream(download, size, send)
        except (AppError, WhatsAppError, httpx.HTTPError) as error:
            if self.started:
                raise
            failure = (
                error
                if isinstance(error, AppError)
                else GraphUnavailable(f"the WhatsApp Graph API failed: {error}")
            )
            body = JSONResponse(failure.body(), status_code=failure.status_code)
            await body(scope, receive, send)

    async def _locate(self) -> tuple[str, int | None]:
        try:
            info = await self.client.media_info(self.source.media_id)
        except GraphError as error:
            if error.http_status in (400, 404):
                raise MediaGone() from None
            raise
        size = info.get("file_size")
        size = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
        if size is not None and size > limits.MEDIA_DOWNLOAD_MAX_BYTES:
            raise MediaTooLarge()
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise GraphUnavailable("the Graph API gave no download url for the media")
        self.mime_type = str(info.get("mime_type") or self.source.mime_type or "")
        return url, size

    async def _stream(self, download: httpx.Response, size: int | None, send: Send) -> None:
        declared = download.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.MEDIA_DOWNLOAD_MAX_BYTES:
            raise MediaTooLarge()
        headers = [(b"content-type", (self.mime_type or "application/octet-stream").encode())]
        if declared and declared.isdigit():
            headers.append((b"content-length", declared.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        self.started = True
        sent = 0
        async for chunk in download.aiter_bytes():
            sent += len(chunk)
            if sent > limits.MEDIA_DOWNLOAD_MAX_BYTES:
                raise RuntimeError("media exceeded the size cap mid-stream; connection dropped")
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
