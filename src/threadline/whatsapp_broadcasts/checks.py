"""Checking a batch of recipients: every row, every problem, with its index.

A row names a number (``phone_number``, any E.164 spelling) or one of the project's
contacts (``whatsapp_contact_id``), and the values its template needs. Problems read
``Recipient <i>: ...`` where ``i`` is the row's index in the ``recipients`` array (from 0).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Unprocessable
from threadline.models import WhatsappTemplate
from threadline.whatsapp.phones import wa_id_of
from threadline.whatsapp_broadcasts import repository
from threadline.whatsapp_broadcasts.schemas import BATCH_MAX, RecipientIn
from threadline.whatsapp_templates import parameters
from threadline.whatsapp_templates.service import send_problems


class InvalidRecipients(Unprocessable):
    """Some recipients are invalid: nothing was added (``errors`` lists every problem)."""

    error = "Invalid recipients"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s); nothing was added: " + "; ".join(problems[:3])
        )
        self.problems = problems

    def body(self) -> dict[str, Any]:
        """The 422 with ``errors``: every problem, as the reference's sentences."""
        return {**super().body(), "errors": self.problems}


class BadBatch(Unprocessable):
    """The batch itself is malformed."""

    error = "Invalid recipients"

    def body(self) -> dict[str, Any]:
        """The reference's 422: ``error`` is the sentence itself."""
        return {**super().body(), "error": self.message}


@dataclass(frozen=True)
class RecipientRow:
    """A row that passed: its number (wa_id), contact and template values."""

    index: int
    phone: str
    contact_id: uuid.UUID | None
    parameters: Any


@dataclass(frozen=True)
class RecipientRows:
    """The rows of a batch that passed, first occurrence of each number only."""

    rows: list[RecipientRow]
    repeated: int = 0

    def __len__(self) -> int:
        return len(self.rows) + self.repeated

    def __iter__(self) -> Iterator[RecipientRow]:
        return iter(self.rows)

    def phones(self) -> list[str]:
        """The rows' numbers."""
        return [row.phone for row in self.rows]

    def without(self, present: set[str]) -> RecipientRows:
        """The rows whose number is not in ``present``."""
        return RecipientRows([row for row in self.rows if row.phone not in present])


async def check_rows(
    session: AsyncSession, project_id: uuid.UUID, template: WhatsappTemplate, rows: Any
) -> RecipientRows:
    """The batch's rows checked; :class:`InvalidRecipients` if any row has a problem."""
    if not isinstance(rows, list) or not rows:
        raise BadBatch("Recipients array is required")
    if len(rows) > BATCH_MAX:
        raise BadBatch(f"Cannot add more than {BATCH_MAX} recipients per request")
    problems: list[str] = []
    parsed = [_parse(index, row, problems) for index, row in enumerate(rows)]
    contacts = await _contacts(session, project_id, parsed)
    passed = [_row(i, row, template, contacts, problems) for i, row in enumerate(parsed)]
    if problems:
        raise InvalidRecipients(problems)
    return _first_of_each([row for row in passed if row is not None])


def _parse(index: int, row: Any, problems: list[str]) -> RecipientIn | None:
    try:
        return RecipientIn.model_validate(row)
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "recipient"
            problems.append(f"Recipient {index}: {where}: {item['msg']}")
        return None


async def _contacts(
    session: AsyncSession, project_id: uuid.UUID, parsed: list[RecipientIn | None]
) -> dict[uuid.UUID, str]:
    ids = [row.whatsapp_contact_id for row in parsed if row and row.whatsapp_contact_id]
    return await repository.contact_phones(session, project_id, ids) if ids else {}


def _row(
    index: int,
    row: RecipientIn | None,
    template: WhatsappTemplate,
    contacts: dict[uuid.UUID, str],
    problems: list[str],
) -> RecipientRow | None:
    if row is None:
        return None
    found = len(problems)
    phone = _phone(index, row, contacts, problems)
    _, wrong = send_problems(template, parameters.of_values(row.template_parameters))
    problems += [f"Recipient {index}: template parameters invalid - {p}" for p in wrong]
    if phone is None or len(problems) > found:
        return None
    return RecipientRow(index, phone, row.whatsapp_contact_id, row.template_parameters)


def _phone(
    index: int, row: RecipientIn, contacts: dict[uuid.UUID, str], problems: list[str]
) -> str | None:
    if row.phone_number is not None:
        try:
            return wa_id_of(row.phone_number)
        except ValueError:
            problems.append(
                f"Recipient {index}: invalid phone number format ({row.phone_number!r}: "
                "use E.164, e.g. +14155550123)"
            )
            return None
    if row.whatsapp_contact_id is None:
        problems.append(f"Recipient {index}: phone_number or whatsapp_contact_id is required")
        return None
    phone = contacts.get(row.whatsapp_contact_id)
    if phone is None:
        problems.append(f"Recipient {index}: whatsapp_contact_id names no contact of this project")
    return phone


def _first_of_each(rows: list[RecipientRow]) -> RecipientRows:
    seen: dict[str, RecipientRow] = {}
    for row in rows:
        seen.setdefault(row.phone, row)
    return RecipientRows(list(seen.values()), repeated=len(rows) - len(seen))
