"""``fields`` and ``summary`` on the sandbox's list edges, as the Graph API answers them.

``fields=name,status`` keeps only those keys of each item (and ``id``);
``summary=total_count`` (or ``summary=true``) adds ``"summary": {"total_count": N}``,
the count of every matching item, not only this page's. The templates edge also
answers Meta's ``message_template_count`` (templates on the account) and
``message_template_limit``. Keys a list does not know are left out, as Meta does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadline.kit.graph_fields import FieldsError, parse_fields, select, summary_keys
from threadline.sandbox.faults import invalid_parameter

#: Meta's default cap of message templates on one business account.
TEMPLATE_LIMIT = 250


def template_summary(matching: int, on_account: int) -> dict[str, Any]:
    """Every summary key the templates edge answers."""
    return {
        "total_count": matching,
        "message_template_count": on_account,
        "message_template_limit": TEMPLATE_LIMIT,
        "are_translations_complete": True,
    }


def shaped(
    body: dict[str, Any], query: Mapping[str, str], counts: dict[str, Any]
) -> dict[str, Any]:
    """``body`` (``data`` + ``paging``) with ``fields`` applied and the ``summary`` asked for."""
    try:
        selection = parse_fields(query.get("fields"))
    except FieldsError as error:
        raise invalid_parameter(str(error)) from None
    shaped_body = {**body, "data": [select(item, selection) for item in body["data"]]}
    asked = summary_keys(query.get("summary"))
    summary = {key: counts[key] for key in asked if key in counts}
    if asked:
        shaped_body["summary"] = summary
    return shaped_body
