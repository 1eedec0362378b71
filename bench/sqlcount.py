"""Counting the SQL a phase sends: transactions and statements by verb."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class StatementCounter:
    """Listens on engines (a database's pool and its priority connection, say); :meth:`take`
    returns and resets the counts."""

    def __init__(self, engine: AsyncEngine, *more: AsyncEngine) -> None:
        self.counts: Counter[str] = Counter()
        for each in (engine, *more):
            sync = each.sync_engine
            event.listen(sync, "before_cursor_execute", self._statement)
            event.listen(sync, "begin", self._begin)
            event.listen(sync, "commit", self._commit)
            event.listen(sync, "rollback", self._rollback)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        if verb != "BEGIN":  # SQLite's BEGIN IMMEDIATE is counted as a transaction below
            self.counts[verb] += 1

    def _begin(self, _conn: Any) -> None:
        self.counts["transactions"] += 1

    def _commit(self, _conn: Any) -> None:
        self.counts["commits"] += 1

    def _rollback(self, _conn: Any) -> None:
        self.counts["rollbacks"] += 1

    def take(self, operations: int) -> dict[str, float]:
        """Counts per operation since the last call, then reset."""
        counts, self.counts = self.counts, Counter()
        result = {verb: round(n / operations, 2) for verb, n in sorted(counts.items())}
        kinds = ("transactions", "commits", "rollbacks")
        statements = sum(n for verb, n in counts.items() if verb not in kinds)
        result["statements"] = round(statements / operations, 2)
        return result
