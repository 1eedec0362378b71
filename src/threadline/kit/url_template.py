"""The fixed part of a URL template: its scheme and authority are never interpolated."""

from __future__ import annotations

import re

_ORIGIN = re.compile(r"\s*(https?)://([^/?#]*)", re.IGNORECASE)

ORIGIN_RULE = (
    "must start with http:// or https:// and a host written out in full: the scheme, "
    "host and port cannot come from {{...}} (placeholders may go in the path, query "
    "and fragment)"
)
"""The rule :func:`url_origin` enforces, as a validation message."""


def url_origin(template: str, *, opener: str = "{{") -> str | None:
    """``scheme://authority`` of ``template``, or None if it has none or it holds ``opener``.

    ``opener`` is how the template's placeholders start: ``{{`` in flows, ``#{`` in the
    webhook tools of agents (Kapso's syntax).
    """
    match = _ORIGIN.match(template)
    if match is None or not match.group(2) or opener in match.group(0):
        return None
    return match.group(0)
