"""A process-local cache of the config lookups every webhook delivery makes.

Meta's deliveries name a number (``phone_number_id``) or, on a per-config URL, a config
id; at hundreds of deliveries a second the lookup would be a query each. The config an
agent sends from, which every agent start asks, is kept here too. Entries live
``ttl`` seconds (``THREADLINE_CONFIG_CACHE_SECONDS``; 0 turns the cache off) and hold
read-only copies, never rows of a session. Every write to a config in this process
(create, update, default, delete), and every change to an agent's numbers, empties
the cache at once and again when its
transaction commits, so a reader that loaded the old row in between cannot keep it.
A change made by another process is seen within ``ttl``: that long, a deleted config
may still be found there and a rotated app secret not yet used.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from threadline.models import WhatsappConfig

_CHANGED = "threadline.whatsapp_configs_changed"
T = TypeVar("T")


class ConfigCache:
    """Lookups by key, kept ``ttl`` seconds (``clock`` is injectable for tests)."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._entries: dict[tuple[str, Any], tuple[float, Any]] = {}
        self._generation = 0

    async def get(self, key: tuple[str, Any], load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of ``key``, else ``load()``'s (then kept for ``ttl``)."""
        if self.ttl <= 0:
            return await load()
        now = self.clock()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            value: T = found[1]
            return value
        generation = self._generation
        value = await load()
        if generation == self._generation:  # no change while it loaded: keep it
            self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        """Forget everything (a config changed)."""
        self._entries = {}
        self._generation += 1


cache = ConfigCache()


def configure(ttl: float) -> None:
    """Set the process's TTL (``Settings.config_cache_seconds``) and start empty."""
    cache.ttl = ttl
    cache.clear()


def changed(session: AsyncSession) -> None:
    """A config is being written in ``session``: forget now, and again at its commit."""
    cache.clear()
    session.sync_session.info[_CHANGED] = True


def snapshot(config: WhatsappConfig) -> WhatsappConfig:
    """A copy of the row that belongs to no session (safe to share between requests)."""
    columns = inspect(WhatsappConfig).column_attrs
    return WhatsappConfig(**{column.key: getattr(config, column.key) for column in columns})


@event.listens_for(Session, "after_commit")
def _forget_at_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        cache.clear()


@event.listens_for(Session, "after_rollback")
def _forget_at_rollback(session: Session) -> None:
    # What it read of its own uncommitted change may have been kept: forget that too.
    if session.info.pop(_CHANGED, False):
        cache.clear()


def by_id_key(config_id: uuid.UUID) -> tuple[str, Any]:
    """The key of a lookup by config id."""
    return ("id", config_id)


def by_number_key(phone_number_id: str) -> tuple[str, Any]:
    """The key of a lookup by phone number id."""
    return ("number", phone_number_id)


def agent_number_key(agent_id: uuid.UUID) -> tuple[str, Any]:
    """The key of the config an agent sends from."""
    return ("agent_number", agent_id)
