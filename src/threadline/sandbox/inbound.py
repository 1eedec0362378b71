"""Inbound messages a sandbox phone sends, built exactly as Meta's ``messages[]`` items."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from threadline.sandbox import media as media_store
from threadline.sandbox.faults import TITLES
from threadline.sandbox.phones import Inbound
from threadline.sandbox.state import SandboxState, digits

InboundType = Literal[
    "text",
    "interactive",
    "button",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "unsupported",
]
DEFAULT_PROFILE_NAME = "Sandbox user"
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
_Strict = ConfigDict(extra="forbid")


class TextBody(BaseModel):
    """``text``: what the user typed."""

    model_config = _Strict
    body: str = Field(min_length=1, max_length=4096)


class Reply(BaseModel):
    """A tapped reply button or list row: the id the business gave it and its title."""

    model_config = _Strict
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=72)
    description: str | None = Field(default=None, max_length=72)


class PermissionReply(BaseModel):
    """The user's answer to a call permission request."""

    model_config = _Strict
    response: Literal["accept", "reject"]
    expiration_timestamp: str | None = None
    response_source: Literal["user_action", "automatic"] = "user_action"


class InteractiveBody(BaseModel):
    """``interactive``: a ``button_reply``, a ``list_reply`` or a ``call_permission_reply``."""

    model_config = _Strict
    type: Literal["button_reply", "list_reply", "call_permission_reply"]
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    call_permission_reply: PermissionReply | None = None

    @model_validator(mode="after")
    def _one_reply(self) -> InteractiveBody:
        if getattr(self, self.type) is None:
            raise ValueError(f"interactive.type is {self.type}: give interactive.{self.type}")
        return self


class ButtonBody(BaseModel):
    """``button``: a template quick-reply tap (its payload and its text)."""

    model_config = _Strict
    payload: str = Field(min_length=1, max_length=1024)
    text: str = Field(min_length=1, max_length=256)


class MediaBody(BaseModel):
    """A media message: an uploaded media ``id`` (or none, to auto-create one)."""

    model_config = _Strict
    id: str | None = None
    caption: str | None = Field(default=None, max_length=1024)
    filename: str | None = Field(default=None, max_length=240)
    voice: bool | None = None
    animated: bool | None = None


class LocationBody(BaseModel):
    """``location``: a pin, optionally a named place."""

    model_config = _Strict
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ReactionBody(BaseModel):
    """``reaction``: an emoji on a message (``""`` removes it)."""

    model_config = _Strict
    message_id: str = Field(min_length=1)
    emoji: str = ""


class UnsupportedBody(BaseModel):
    """``unsupported``: a message kind the Cloud API cannot deliver (e.g. a poll)."""

    model_config = _Strict
    type: str = "unknown"


class Context(BaseModel):
    """What the message replies to (``id``) or that it was forwarded."""

    model_config = _Strict
    id: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False


class InboundRequest(BaseModel):
    """Body of ``POST /_sandbox/inbound``: one message from a phone, Meta's object per type.

    ``type: button_reply`` (or ``list_reply``) with that object is short for ``interactive``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="The sender's phone number (digits)")
    profile_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The name WhatsApp shows; by default the phone's last one",
    )
    type: InboundType
    text: TextBody | None = None
    interactive: InteractiveBody | None = None
    button: ButtonBody | None = None
    image: MediaBody | None = None
    audio: MediaBody | None = None
    video: MediaBody | None = None
    document: MediaBody | None = None
    sticker: MediaBody | None = None
    location: LocationBody | None = None
    contacts: list[dict[str, Any]] | None = Field(default=None, min_length=1)
    reaction: ReactionBody | None = None
    unsupported: UnsupportedBody | None = None
    context: Context | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("type") in ("button_reply", "list_reply"):
            kind = raw["type"]
            rest = {k: v for k, v in raw.items() if k not in ("type", kind)}
            interactive = {"type": kind, kind: raw.get(kind)}
            return {**rest, "type": "interactive", "interactive": interactive}
        return raw

    @field_validator("from_")
    @classmethod
    def _phone(cls, value: str) -> str:
        wa_id = digits(value)
        if not 6 <= len(wa_id) <= 15 or not set(value) <= set("+0123456789 -()."):
            raise ValueError("from must be a phone number of 6 to 15 digits, like 15551234567")
        return wa_id

    @model_validator(mode="after")
    def _content_matches_type(self) -> InboundRequest:
        given = [kind for kind in _CONTENT_FIELDS if getattr(self, kind) is not None]
        optional = self.type in MEDIA_KINDS or self.type == "unsupported"
        if self.type not in given and not optional:
            raise ValueError(f"type is {self.type}: give the {self.type} object")
        if extra := [kind for kind in given if kind != self.type]:
            raise ValueError(f"type is {self.type}: remove {', '.join(extra)}")
        return self


_CONTENT_FIELDS = (
    "text",
    "interactive",
    "button",
    *MEDIA_KINDS,
    "location",
    "contacts",
    "reaction",
    "unsupported",
)


def inject(state: SandboxState, request: InboundRequest) -> tuple[dict[str, Any], str | None]:
    """Record the phone's message, open its window and send it: the message and delivery id."""
    body = _content(state, request)  # first: it may refuse the request
    now = state.now()
    phone = state.phone(request.from_)
    message: dict[str, Any] = {
        "from": phone.wa_id,
        "id": state.next_wamid(),
        "timestamp": str(int(now.timestamp())),
    }
    if request.context is not None:
        message["context"] = _context(state, request.from_, request.context)
    message["type"] = request.type
    message.update(body)
    phone.profile_name = request.profile_name or phone.profile_name or DEFAULT_PROFILE_NAME
    phone.last_inbound_at = now
    phone.thread.append(Inbound(message["id"], message, now))
    contact = {"profile": {"name": phone.profile_name}, "wa_id": phone.wa_id}
    delivery = state.dispatcher.submit("messages", {"contacts": [contact], "messages": [message]})
    return message, delivery.id if delivery is not None else None


def _context(state: SandboxState, wa_id: str, context: Context) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if context.id is not None:
        thread = state.phone(wa_id).thread
        own = any(isinstance(m, Inbound) and m.wamid == context.id for m in thread)
        business = digits(state.config.display_phone_number)
        result.update({"from": wa_id if own else business, "id": context.id})
    if context.forwarded:
        result["forwarded"] = True
    if context.frequently_forwarded:
        result["frequently_forwarded"] = True
    return result


def _content(state: SandboxState, request: InboundRequest) -> dict[str, Any]:
    kind = request.type
    if kind in MEDIA_KINDS:
        return {kind: _media(state, kind, getattr(request, kind) or MediaBody())}
    if kind == "unsupported":
        return _unsupported(request.unsupported or UnsupportedBody())
    if kind == "contacts":
        return {"contacts": request.contacts}
    body = getattr(request, kind)
    return {kind: body.model_dump(exclude_none=True)}


def _media(state: SandboxState, kind: str, body: MediaBody) -> dict[str, Any]:
    if body.id is None:
        stored = media_store.placeholder(state, kind)
    elif body.id in state.media:
        stored = state.media[body.id]
    else:
        raise ValueError(f"{kind}.id {body.id!r} is not a sandbox media id: upload it first")
    result: dict[str, Any] = {}
    if kind in ("image", "video", "document") and body.caption is not None:
        result["caption"] = body.caption
    if kind == "document":
        result["filename"] = body.filename or stored.filename or "document.pdf"
    result.update({"mime_type": stored.mime_type, "sha256": stored.sha256, "id": stored.id})
    if kind == "audio":
        result["voice"] = bool(body.voice)
    if kind == "sticker":
        result["animated"] = bool(body.animated)
    return result


def _unsupported(body: UnsupportedBody) -> dict[str, Any]:
    title = TITLES[131051]
    error = {
        "code": 131051,
        "title": title,
        "message": title,
        "error_data": {"details": "Message type is currently not supported."},
    }
    return {"errors": [error], "unsupported": {"type": body.type}}
