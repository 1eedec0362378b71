"""A WhatsApp user played through the sandbox's control plane (``control`` fixture):
what they write, and what the business sent them."""

from __future__ import annotations

from typing import Any

import httpx


async def user_says(
    control: httpx.AsyncClient, phone: str, text: str, *, name: str | None = None
) -> None:
    """The user at ``phone`` writes ``text`` (the sandbox sends Meta's signed webhook)."""
    message: dict[str, Any] = {"from": phone, "type": "text", "text": {"body": text}}
    if name is not None:
        message["profile_name"] = name
    (await control.post("/inbound", json=message)).raise_for_status()


async def thread(control: httpx.AsyncClient, phone: str) -> list[dict[str, Any]]:
    """The sandbox's thread with ``phone``, oldest first."""
    response = await control.get("/thread", params={"phone": phone})
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def outbound_texts(control: httpx.AsyncClient, phone: str) -> list[str]:
    """The texts the business sent ``phone``, oldest first."""
    return [m["text"] for m in await thread(control, phone) if m.get("direction") == "outbound"]
