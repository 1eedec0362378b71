"""A thin async client for the WhatsApp Cloud API (Graph API) over an injected httpx client."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import orjson

from threadline.whatsapp.errors import (
    DeliveryNotAttempted,
    DeliveryOutcomeUnknown,
    GraphError,
    WhatsAppError,
)
from threadline.whatsapp.payloads import SendResult, read_receipt

# These fail before any byte of the request can have reached the server.
_NOT_SENT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
_MAX_TEMPLATE_PAGES = 100
_PHONE_NUMBER_FIELDS = (
    "id,verified_name,display_phone_number,quality_rating,code_verification_status,"
    "platform_type,throughput,health_status"
)


class WhatsAppClient:
    """Sends messages and manages templates for one business phone number.

    The caller owns ``http`` (its timeouts, pooling and lifetime); ``base_url`` is
    ``https://graph.facebook.com`` in production or the sandbox's address in tests.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        api_version: str = "v23.0",
    ) -> None:
        self._http = http
        self._root = f"{base_url.rstrip('/')}/{api_version}"
        self._phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {access_token}"}

    @property
    def phone_number_id(self) -> str:
        """The business phone number this client sends from."""
        return self._phone_number_id

    async def send_message(self, payload: Mapping[str, Any]) -> SendResult:
        """Send one message built by :mod:`threadline.whatsapp.payloads`.

        Raises :class:`GraphError` (transient or permanent) when Meta refuses it,
        :class:`DeliveryNotAttempted` when it never left, and
        :class:`DeliveryOutcomeUnknown` when it may have been accepted unseen.
        """
        if "status" in payload:
            raise ValueError("read receipts return no message id; use mark_read()")
        body = await self._request("POST", f"{self._phone_number_id}/messages", body=payload)
        try:
            return SendResult.from_graph(body)
        except ValueError as exc:
            # HTTP 2xx means Meta accepted the message; resending would duplicate it.
            raise DeliveryOutcomeUnknown(f"accepted, but no message id in {body!r:.200}") from exc

    async def mark_read(self, message_id: str, *, typing_indicator: bool = False) -> None:
        """Mark an inbound message read, optionally showing a typing indicator."""
        payload = read_receipt(message_id, typing_indicator=typing_indicator)
        await self._request("POST", f"{self._phone_number_id}/messages", body=payload)

    async def get_phone_number(self) -> dict[str, Any]:
        """This business number as Meta describes it (name, display number, quality, health)."""
        params = {"fields": _PHONE_NUMBER_FIELDS}
        return await self._request("GET", self._phone_number_id, params=params)

    async def get_business_account(self, waba_id: str) -> dict[str, Any]:
        """The WhatsApp Business Account (``id``, ``name``, ...)."""
        return await self._request("GET", waba_id)

    async def list_subscribed_apps(self, waba_id: str) -> list[dict[str, Any]]:
        """The Meta apps subscribed to the WABA's webhooks (``whatsapp_business_api_data``)."""
        body = await self._request("GET", f"{waba_id}/subscribed_apps")
        apps = body.get("data", [])
        return [app for app in apps if isinstance(app, dict)] if isinstance(apps, list) else []

    async def list_phone_numbers(self, waba_id: str) -> list[dict[str, Any]]:
        """The WABA's phone numbers (``id``, ``display_phone_number``, ``verified_name``, ...)."""
        body = await self._request("GET", f"{waba_id}/phone_numbers")
        numbers = body.get("data", [])
        return [n for n in numbers if isinstance(n, dict)] if isinstance(numbers, list) else []

    async def subscribe_app(self, waba_id: str) -> None:
        """Subscribe the token's app to the WABA's webhooks (``POST .../subscribed_apps``)."""
        await self._request("POST", f"{waba_id}/subscribed_apps")

    async def exchange_code(self, *, app_id: str, app_secret: str, code: str) -> str:
        """Embedded signup's authorization ``code`` exchanged for a business access token."""
        params = {"client_id": app_id, "client_secret": app_secret, "code": code}
        body = await self._request("GET", "oauth/access_token", params=params)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise WhatsAppError("oauth/access_token answered without an access_token")
        return token

    async def debug_token(self, input_token: str) -> dict[str, Any]:
        """What ``input_token`` may reach (``data.granular_scopes``); call with the app's token."""
        body = await self._request("GET", "debug_token", params={"input_token": input_token})
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    async def media_info(self, media_id: str) -> dict[str, Any]:
        """``GET /{media_id}``: the media's short-lived download ``url``, ``mime_type``, size."""
        return await self._request("GET", media_id)

    async def upload_media(
        self, data: bytes, mime_type: str, *, filename: str | None = None
    ) -> dict[str, Any]:
        """``POST /{phone_number_id}/media`` (multipart): ``{"id"}`` of the new media."""
        url = f"{self._root}/{self._phone_number_id}/media"
        form = {"messaging_product": "whatsapp", "type": mime_type}
        files = {"file": (filename or "upload", data, mime_type)}
        try:
            response = await self._http.post(url, data=form, files=files, headers=self._headers)
        except httpx.HTTPError as exc:
            raise WhatsAppError(f"POST {url} failed: {exc!r}") from exc
        if not response.is_success:
            raise GraphError.from_response(response.status_code, response.content)
        return _json_object(response)

    async def delete_media(self, media_id: str) -> dict[str, Any]:
        """``DELETE /{media_id}``: ``{"success": true}``."""
        return await self._request("DELETE", media_id)

    def download(self, url: str) -> AbstractAsyncContextManager[httpx.Response]:
        """Stream a media ``url`` from :meth:`media_info` (it needs the same token)."""
        return self._http.stream("GET", url, headers=self._headers)

    async def list_templates(self, waba_id: str) -> list[dict[str, Any]]:
        """Every message template of a WhatsApp Business Account, following pagination."""
        templates: list[dict[str, Any]] = []
        params: dict[str, str] = {}
        for _ in range(_MAX_TEMPLATE_PAGES):
            page = await self._request("GET", f"{waba_id}/message_templates", params=params)
            templates.extend(page.get("data", []))
            after = _next_cursor(page)
            if after is None or after == params.get("after"):
                return templates
            params = {"after": after}
        raise WhatsAppError(f"template listing exceeded {_MAX_TEMPLATE_PAGES} pages")

    async def create_template(self, waba_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a template for review; returns ``{"id", "status", "category"}``."""
        return await self._request("POST", f"{waba_id}/message_templates", body=body)

    async def list_templates_page(
        self, waba_id: str, after: str | None = None, *, limit: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the WABA's templates and the cursor of the next (None: the last)."""
        params = {"limit": str(limit), **({"after": after} if after else {})}
        page = await self._request("GET", f"{waba_id}/message_templates", params=params)
        data = page.get("data", [])
        templates = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
        cursor = _next_cursor(page)
        return templates, None if cursor == after else cursor

    async def delete_template(self, waba_id: str, name: str, *, hsm_id: str | None = None) -> None:
        """Delete every language of the template called ``name`` (only ``hsm_id``, if given)."""
        params = {"name": name, **({"hsm_id": hsm_id} if hsm_id else {})}
        await self._request("DELETE", f"{waba_id}/message_templates", params=params)

    async def edit_template(self, template_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Edit a template's category, components or TTL; returns ``{"success": true}``."""
        return await self._request("POST", template_id, body=body)

    async def request_display_name(self, new_display_name: str) -> dict[str, Any]:
        """Ask Meta to review ``new_display_name`` for this number (``POST /{phone_number_id}``)."""
        params = {"new_display_name": new_display_name}
        return await self._request("POST", self._phone_number_id, params=params)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        url = f"{self._root}/{path}"
        headers, content = self._headers, None
        if body is not None:
            headers, content = {**headers, **_JSON_BODY}, orjson.dumps(body)
        try:
            response = await self._http.request(
                method, url, content=content, params=params, headers=headers
            )
        except _NOT_SENT_ERRORS as exc:
            raise DeliveryNotAttempted(f"{method} {url} never reached the server: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise DeliveryOutcomeUnknown(f"{method} {url} failed mid-flight: {exc!r}") from exc
        if not response.is_success:
            raise GraphError.from_response(response.status_code, response.content)
        return _json_object(response)


_JSON_BODY = {"Content-Type": "application/json"}


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryOutcomeUnknown(
            f"HTTP {response.status_code} with a body that is not a JSON object: "
            f"{response.text[:200]!r}"
        )
    return body


def _next_cursor(page: Mapping[str, Any]) -> str | None:
    paging = page.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return after if isinstance(after, str) and after else None
