"""A small client of Threadline's HTTP API for the CLI's commands that talk to a server.

It finds the server the way ``threadline serve`` chose it (``THREADLINE_PUBLIC_URL`` or
``THREADLINE_HOST``/``THREADLINE_PORT``) and the key in ``THREADLINE_API_KEY``, else in the
file ``serve`` saved the default project's key to.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import httpx

from threadline.cli import startup
from threadline.config import get_settings

#: The statuses of a test chat that end a wait for the agent's answer.
SETTLED = ("completed", "error")


class ApiError(Exception):
    """The server refused a call (its ``{error, status, message}``) or could not be reached."""


def default_url() -> str:
    """The server ``threadline serve`` would start with this environment."""
    return get_settings().base_url()


def default_api_key() -> str | None:
    """``THREADLINE_API_KEY``, else the default project's key ``serve`` saved, if any."""
    if key := os.environ.get("THREADLINE_API_KEY"):
        return key
    saved = startup.api_key_file(get_settings())
    return saved.read_text().strip() if saved.is_file() else None


@dataclass
class ApiClient:
    """Calls ``{url}/api/v1`` with one project's key; every answer is its ``data``."""

    http: httpx.Client

    @classmethod
    def connect(cls, url: str, api_key: str, *, timeout: float = 15.0) -> ApiClient:
        """A client of the server at ``url``."""
        base = url.rstrip("/") + "/api/v1"
        headers = {"X-API-Key": api_key}
        return cls(httpx.Client(base_url=base, headers=headers, timeout=timeout))

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; its ``data``, or :class:`ApiError` with the server's message."""
        return self.answer(method, path, **kwargs)["data"]

    def answer(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request; its whole JSON body, or :class:`ApiError`."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.http.base_url}: {exc}") from exc
        if response.is_error:
            raise ApiError(_problem(response))
        body: dict[str, Any] = response.json()
        return body

    def agents(self) -> list[dict[str, Any]]:
        """The project's agents, newest first (every page)."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.answer("GET", "/agents", params={"page": page, "per_page": 100})
            found.extend(body["data"])
            if page >= int(body.get("meta", {}).get("total_pages", 1)):
                return found
            page += 1

    def send(self, agent_id: str, text: str, *, chat_id: str | None, snapshot: str | None) -> Any:
        """Post ``text`` to a new test chat of the agent (or its snapshot), or to ``chat_id``."""
        body: dict[str, Any] = {"message": text}
        if chat_id is not None:
            body["agent_test_chat_id"] = chat_id
        path = f"/agent_snapshots/{snapshot}" if snapshot else f"/agents/{agent_id}"
        return self.call("POST", path + "/test_chats", json=body)

    def settled_chat(self, chat_id: str, *, timeout: float, poll: float = 0.2) -> Any:
        """The test chat once the agent has answered (``completed``) or failed (``error``)."""
        deadline = time.monotonic() + timeout
        while True:
            chat = self.call("GET", f"/test_chats/{chat_id}")
            if chat["status"] in SETTLED:
                return chat
            if time.monotonic() >= deadline:
                raise ApiError(f"the agent did not answer within {timeout:g}s")
            time.sleep(poll)


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and "error" in body:
        status = body.get("status", response.status_code)
        return f"{body['error']} ({status}): {body.get('message')}"
    return f"HTTP {response.status_code}: {response.text[:200]}"
