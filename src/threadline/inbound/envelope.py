"""The shape of a Meta webhook delivery, checked before it is stored.

Only the envelope is checked here (``object``, ``entry[].changes[]``); each message,
status and error inside is parsed on its own later, so one malformed item never costs
the others.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadline.errors import BadRequest, Unprocessable


class Change(BaseModel):
    """One ``entry[].changes[]`` item: a subscription field and its value."""

    model_config = ConfigDict(extra="allow")

    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(BaseModel):
    """One ``entry[]`` item; ``id`` is the WhatsApp Business Account id."""

    model_config = ConfigDict(extra="allow")

    id: str
    changes: list[Change] = Field(default_factory=list)


class Envelope(BaseModel):
    """A whole delivery."""

    model_config = ConfigDict(extra="allow")

    object: Literal["whatsapp_business_account"]
    entry: list[Entry]

    def phone_number_ids(self) -> set[str]:
        """Every number the delivery is about (``value.metadata.phone_number_id``)."""
        found = set()
        for entry in self.entry:
            for change in entry.changes:
                metadata = change.value.get("metadata")
                if isinstance(metadata, dict) and metadata.get("phone_number_id"):
                    found.add(str(metadata["phone_number_id"]))
        return found

    def business_account_ids(self) -> set[str]:
        """The WABAs of entries with a change about no number (template webhooks)."""
        return {
            entry.id
            for entry in self.entry
            if any(not isinstance(c.value.get("metadata"), dict) for c in entry.changes)
        }


class NotJson(BadRequest):
    """The webhook body is not JSON: Meta sends ``application/json`` deliveries."""

    error = "Invalid webhook body"


class NotMetaShape(Unprocessable):
    """The webhook body is JSON but not a WhatsApp Business Account delivery."""

    error = "Invalid webhook body"


def parse(body: bytes) -> Envelope:
    """The delivery in ``body``; :class:`NotJson` or :class:`NotMetaShape` if it is none."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJson(f"The webhook body is not JSON: {exc}") from exc
    try:
        return Envelope.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise NotMetaShape(
            f"Not a WhatsApp webhook delivery: {where}: {first['msg']} (expected "
            f'{{"object": "whatsapp_business_account", "entry": [...]}})'
        ) from exc
