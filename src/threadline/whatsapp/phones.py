"""Phone numbers as WhatsApp knows them: a wa_id is the E.164 number's digits, no ``+``."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s().-]")
_DIGITS = re.compile(r"\+?[0-9]{7,15}")


def wa_id_of(phone: str) -> str:
    """The wa_id of ``phone`` (``+1 (555) 010-2000`` → ``15550102000``); ValueError if not one."""
    compact = _SEPARATORS.sub("", phone.strip())
    if not _DIGITS.fullmatch(compact):
        raise ValueError(
            f"{phone!r} is not a phone number: use the international format, e.g. +15551234567"
        )
    return compact.removeprefix("+")


def e164(phone: str) -> str:
    """``phone`` normalised to ``+<digits>``, the form conversations store."""
    return f"+{wa_id_of(phone)}"
