"""Phone numbers as WhatsApp ids: the digits of the international number, nothing else."""

from __future__ import annotations

import re

from threadline.errors import Unprocessable

#: What people type between digits: ``+1 (555) 010-2030``, ``+44.20.7946.0000``.
_SEPARATORS = re.compile(r"[\s\-().]")
#: Country codes never start with 0: a leading 0 is a national number, or a 00 prefix.
_WA_ID = re.compile(r"[1-9][0-9]{4,14}")


class InvalidPhoneNumber(Unprocessable):
    """Give the phone number in international form, 5 to 15 digits starting with its country
    code (for example +15550102030); spaces, dashes, dots and parentheses are ignored."""

    error = "Invalid phone number"


def normalise(phone_number: str) -> str:
    """The ``wa_id`` of ``phone_number`` (``+1 555-010-2030`` → ``15550102030``).

    Raises ``InvalidPhoneNumber`` for anything that is not 5 to 15 digits, the first
    not 0, once an optional leading ``+`` and the separators are removed.
    """
    digits = _SEPARATORS.sub("", phone_number.strip()).removeprefix("+")
    if not _WA_ID.fullmatch(digits):
        raise InvalidPhoneNumber(details=f"{phone_number!r} is not a phone number")
    return digits


def is_phone_number(value: str) -> bool:
    """Whether ``value`` reads as a phone number (``normalise`` would accept it)."""
    try:
        normalise(value)
    except InvalidPhoneNumber:
        return False
    return True


def display(wa_id: str) -> str:
    """The international form of a ``wa_id`` (``15550102030`` → ``+15550102030``)."""
    return f"+{wa_id}"
