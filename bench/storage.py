"""On-disk size of the database, per table (indexes included)."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from threadline.kit.resources import Resources


async def sizes(resources: Resources) -> dict[str, Any]:
    """Bytes per table (with its indexes and TOAST) and in total.

    PostgreSQL: ``pg_total_relation_size`` of every table in ``public``. SQLite: pages
    per b-tree from ``dbstat`` (an index's pages are added to its table), after a WAL
    checkpoint, plus the file size (which also counts free pages).
    """
    if not resources.db.is_sqlite:
        async with resources.db.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            )
            sized = {name: int(size) for name, size in rows}
        return {"tables": sized, "total": sum(sized.values())}
    async with resources.db.engine.connect() as conn:
        # Straight to the driver: no BEGIN IMMEDIATE, so the checkpoint can truncate the WAL.
        driver: Any = (await conn.get_raw_connection()).driver_connection
        await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owners = dict(
            await (await driver.execute("SELECT name, tbl_name FROM sqlite_master")).fetchall()
        )
        try:
            cursor = await driver.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            pages = list(await cursor.fetchall())
        except Exception:  # dbstat missing from this SQLite build
            pages = []
    tables: dict[str, int] = {}
    for name, size in pages:
        owner = owners.get(name, name)
        tables[owner] = tables.get(owner, 0) + int(size)
    file_bytes = _file_bytes(make_url(resources.db.url).database or "")
    return {
        "tables": tables,
        "total": sum(tables.values()) if tables else file_bytes,
        "file_bytes": file_bytes,
        "dbstat": bool(tables),
    }


def _file_bytes(database: str) -> int:
    """The SQLite file and its WAL."""
    return sum(
        os.path.getsize(path) for path in (database, database + "-wal") if os.path.exists(path)
    )


def per_execution(before: dict[str, Any], after: dict[str, Any], count: int) -> dict[str, Any]:
    """Growth between two readings divided by the executions added."""
    if count <= 0:
        return {}
    tables = {
        name: round((after["tables"].get(name, 0) - before["tables"].get(name, 0)) / count)
        for name in after["tables"]
    }
    result: dict[str, Any] = {
        "executions": count,
        "bytes_per_execution": round((after["total"] - before["total"]) / count),
        "by_table": {name: size for name, size in sorted(tables.items()) if size},
    }
    if "file_bytes" in after:
        result["file_bytes_per_execution"] = round(
            (after["file_bytes"] - before["file_bytes"]) / count
        )
    return result
