"""Contacts and notes as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Long enough for a number typed with separators (``+1 (555) 010-2030``).
_PHONE_INPUT = 40


class ContactCreateFields(BaseModel):
    """A new contact; ``wa_id`` is the phone number, in any usual notation."""

    model_config = ConfigDict(extra="forbid")

    wa_id: str = Field(min_length=1, max_length=_PHONE_INPUT, examples=["15550102030"])
    profile_name: str | None = Field(default=None, max_length=200)
    customer_id: uuid.UUID | None = None
    metadata: dict[str, Any] | None = None


class ContactUpdateFields(BaseModel):
    """What a contact's PATCH may change; ``metadata`` replaces the stored object.

    ``customer_id`` is an addition to the reference: it assigns a customer (null unassigns).
    """

    model_config = ConfigDict(extra="forbid")

    profile_name: str | None = Field(default=None, max_length=200)
    customer_id: uuid.UUID | None = None
    metadata: dict[str, Any] | None = None


class ContactCreate(BaseModel):
    """``POST /whatsapp_contacts`` body."""

    contact: ContactCreateFields


class ContactUpdate(BaseModel):
    """``PATCH /whatsapp_contacts/{identifier}`` body."""

    contact: ContactUpdateFields


class ContactOut(BaseModel):
    """A WhatsApp contact."""

    id: uuid.UUID
    wa_id: str
    profile_name: str = Field(description='The WhatsApp profile name; "" until one is known')
    customer_id: uuid.UUID | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class NoteCreateFields(BaseModel):
    """A new note."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    content: str = Field(min_length=1, max_length=100_000)
    metadata: dict[str, Any] | None = None


class NoteUpdateFields(BaseModel):
    """What a note's PATCH may change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=100_000)
    metadata: dict[str, Any] | None = None


class NoteCreate(BaseModel):
    """``POST /whatsapp_contacts/{identifier}/notes`` body."""

    note: NoteCreateFields


class NoteUpdate(BaseModel):
    """``PATCH /whatsapp_contacts/{identifier}/notes/{note_id}`` body."""

    note: NoteUpdateFields


class NoteOut(BaseModel):
    """A note about a contact."""

    id: uuid.UUID
    name: str | None
    content: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
