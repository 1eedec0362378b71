"""The WhatsApp users the sandbox emulates: their threads, windows and message statuses."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from threadline.sandbox.webhooks import iso

#: Statuses in the order they may follow one another; ``failed`` is final.
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}


@dataclass
class Outbound:
    """A message the platform sent to a phone, with the status the phone has reached."""

    wamid: str
    wa_id: str
    kind: str
    payload: dict[str, Any]
    sent_at: datetime
    in_thread: bool = True
    status: str = "accepted"
    errors: list[dict[str, Any]] | None = None
    status_at: dict[str, str | None] = field(default_factory=dict)
    #: Statuses still to come, as (monotonic time, status), applied lazily.
    due: list[tuple[float, str]] = field(default_factory=list)

    def advance(self, status: str, at: datetime) -> bool:
        """Move forward to ``status``; ``False`` (and no change) if that would go back."""
        if STATUS_RANK[status] <= STATUS_RANK[self.status] or self.status == "failed":
            return False
        self.status = status
        self.status_at[status] = iso(at)
        return True

    @property
    def callback_data(self) -> str | None:
        """The ``biz_opaque_callback_data`` the send carried, echoed in its statuses."""
        value = self.payload.get("biz_opaque_callback_data")
        return value if isinstance(value, str) else None


@dataclass
class Inbound:
    """A message the phone sent (its Meta ``messages[]`` object)."""

    wamid: str
    message: dict[str, Any]
    received_at: datetime


@dataclass
class Phone:
    """One WhatsApp user talking to the sandbox number."""

    wa_id: str
    profile_name: str | None = None
    last_inbound_at: datetime | None = None
    thread: list[Inbound | Outbound] = field(default_factory=list)
    conversations: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def window_closes_at(self, hours: float) -> datetime | None:
        """When the customer-service window closes (``None``: it never opened)."""
        if self.last_inbound_at is None:
            return None
        return self.last_inbound_at + timedelta(hours=hours)

    def window_open(self, now: datetime, hours: float) -> bool:
        """Whether free-form messages may reach this phone at ``now``."""
        closes = self.window_closes_at(hours)
        return closes is not None and now < closes

    def conversation(self, category: str, now: datetime) -> tuple[str, datetime]:
        """The (legacy pricing) conversation of ``category`` open at ``now``: id and expiry."""
        current = self.conversations.get(category)
        if current is None or current[1] <= now:
            current = (secrets.token_hex(16), now + timedelta(hours=24))
            self.conversations[category] = current
        return current

    def to_json(self, now: datetime, hours: float) -> dict[str, Any]:
        """The phone as ``GET /_sandbox/phones`` lists it."""
        return {
            "wa_id": self.wa_id,
            "profile_name": self.profile_name,
            "last_inbound_at": iso(self.last_inbound_at),
            "window_open": self.window_open(now, hours),
            "window_closes_at": iso(self.window_closes_at(hours)),
            "message_count": len(self.thread),
        }
