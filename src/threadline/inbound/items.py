"""The items of a delivery's ``value``: messages, statuses and errors, each parsed alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Message types that are a user's turn in a conversation (they resume or start flows).
CONVERSATIONAL = frozenset(
    {"text", "interactive", "button", "image", "audio", "video", "document", "sticker"}
    | {"location", "contacts", "order"}
)
#: Status progression; ``failed`` is final, whatever came before.
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 9}


def _moment(value: str | int | None) -> datetime | None:
    if value is None or str(value).strip() == "":
        return None
    return datetime.fromtimestamp(int(str(value)), UTC)


class InboundMessage(BaseModel):
    """One ``value.messages[]`` item (its type-specific part stays in ``raw``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1, max_length=200)
    sender: str = Field(alias="from", pattern=r"^[0-9]{5,15}$")
    timestamp: datetime | None = None
    type: str = Field(min_length=1, max_length=20)

    _to_moment = field_validator("timestamp", mode="before")(lambda v: _moment(v))

    @property
    def raw(self) -> dict[str, Any]:
        """The item as Meta sent it."""
        return self.model_dump(by_alias=True, mode="json")

    def reply(self) -> dict[str, Any] | None:
        """A button or list reply's id and title, if the message is one."""
        raw = self.raw
        if self.type == "interactive":
            part = raw.get("interactive") or {}
            kind = part.get("type")
            chosen = part.get(kind) if isinstance(kind, str) else None
            if isinstance(chosen, dict):
                return {"type": kind, "id": chosen.get("id"), "title": chosen.get("title")}
        if self.type == "button":
            part = raw.get("button") or {}
            return {"type": "button", "id": part.get("payload"), "title": part.get("text")}
        return None


class CallItem(BaseModel):
    """One ``value.calls[]`` item: an event (``connect``, ``terminate``) of a call."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1, max_length=200)
    event: str = Field(min_length=1, max_length=40)
    sender: str = Field(alias="from", pattern=r"^[0-9]{5,15}$")
    to: str = Field(pattern=r"^[0-9]{5,15}$")
    direction: str = Field(default="USER_INITIATED", max_length=40)
    timestamp: datetime | None = None
    status: str | None = Field(default=None, max_length=40)
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = Field(default=None, ge=0)

    _to_moment = field_validator("timestamp", "start_time", "end_time", mode="before")(
        lambda v: _moment(v)
    )

    @property
    def user_initiated(self) -> bool:
        """Whether the user called the business (else the business called the user)."""
        return self.direction.upper() != "BUSINESS_INITIATED"

    @property
    def user_wa_id(self) -> str:
        """The user's side of the call."""
        return self.sender if self.user_initiated else self.to


def permission_reply(message: InboundMessage) -> dict[str, Any] | None:
    """The ``call_permission_reply`` a message carries, if it is the user's answer to a
    call permission request."""
    part = message.raw.get("interactive") if message.type == "interactive" else None
    if not isinstance(part, dict) or part.get("type") != "call_permission_reply":
        return None
    reply = part.get("call_permission_reply")
    return reply if isinstance(reply, dict) else None


def is_turn(message: InboundMessage) -> bool:
    """Whether the message is the user's turn in the conversation (it resumes or starts
    a flow): a conversational type, and not an answer to a call permission request."""
    return message.type in CONVERSATIONAL and permission_reply(message) is None


class StatusItem(BaseModel):
    """One ``value.statuses[]`` item: a delivery receipt of an outbound message."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    status: str = Field(min_length=1, max_length=10)
    timestamp: datetime | None = None
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[dict[str, Any]] | None = None

    _to_moment = field_validator("timestamp", mode="before")(lambda v: _moment(v))
