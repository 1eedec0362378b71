"""Process-local caches of configuration read on hot paths (a WhatsApp config by number,
a project's model resolved by name).

Entries live ``ttl`` seconds (``THREADLINE_CONFIG_CACHE_SECONDS``; 0 turns caching off)
and hold read-only values, never rows of a session. Every write to what a cache holds
made in this process empties it at once and again when its transaction commits
(:meth:`ConfigCache.changed`), so a reader that loaded the old value in between cannot
keep it. A change made by another process is seen within ``ttl``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

T = TypeVar("T")
_CHANGED = "threadline.config_caches_changed"
_caches: weakref.WeakSet[ConfigCache] = weakref.WeakSet()
_ttl = 5.0


class ConfigCache:
    """Lookups by key, kept ``ttl`` seconds (``clock`` is injectable for tests)."""

    def __init__(
        self, ttl: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.clock = _ttl if ttl is None else ttl, clock
        self._entries: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._generation = 0
        _caches.add(self)

    async def get(self, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
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
        """Forget everything (what it holds changed)."""
        self._entries = {}
        self._generation += 1

    def changed(self, session: AsyncSession | Session) -> None:
        """What this cache holds is being written in ``session``: forget now, and again
        at its commit (or rollback)."""
        self.clear()
        sync = session.sync_session if isinstance(session, AsyncSession) else session
        sync.info.setdefault(_CHANGED, set()).add(self)


def configure(ttl: float) -> None:
    """Set every cache's TTL (``Settings.config_cache_seconds``), and start them empty."""
    global _ttl
    _ttl = ttl
    for cache in list(_caches):
        cache.ttl = ttl
        cache.clear()


def _forget(session: Session) -> None:
    for cache in session.info.pop(_CHANGED, ()):
        cache.clear()


# At a rollback too: what it read of its own uncommitted change may have been kept.
event.listen(Session, "after_commit", _forget)
event.listen(Session, "after_rollback", _forget)
