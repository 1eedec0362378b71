"""Every table carries ``project_id``: the key a deployment past one server shards by.

See "Past one database server" in docs/architecture.md. A new table without the
column fails here; the allow-list says why each exception has none.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey

import threadline.models  # noqa: F401  (registers every table)
from threadline.kit.db import Base

#: Tables without ``project_id``, and why.
WITHOUT_PROJECT = {
    # The tenant itself: its ``id`` is the value the others carry.
    "projects": "is the project",
}

#: Tables whose ``project_id`` may be empty, and when.
NULLABLE_PROJECT = {
    # The retention's maintenance job serves every project; an inbox or a delivery job
    # is enqueued by callers holding only a conversation's or an execution's id.
    "jobs",
    # A delivery to the app-wide webhook URL may carry items of several projects.
    "inbound_webhooks",
}


def test_every_table_has_a_project_id() -> None:
    missing = [
        name
        for name, table in Base.metadata.tables.items()
        if "project_id" not in table.columns and name not in WITHOUT_PROJECT
    ]
    assert missing == [], f"tables without project_id: {missing}"


def test_project_id_is_required_except_where_a_row_has_no_project() -> None:
    nullable = {
        name
        for name, table in Base.metadata.tables.items()
        if "project_id" in table.columns and table.columns["project_id"].nullable
    }
    assert nullable == NULLABLE_PROJECT


def test_no_foreign_key_leaves_the_project_except_to_the_project() -> None:
    """Every foreign key points at a table that carries project_id too (or at projects):
    with each row's project_id copied from its parent, both ends are in one project."""
    for name, table in Base.metadata.tables.items():
        for key in table.foreign_keys:
            assert isinstance(key, ForeignKey)
            target = key.column.table
            assert target.name == "projects" or "project_id" in target.columns, (
                f"{name}.{key.parent.name} -> {target.name}"
            )
