"""A process-local cache of the config lookups every webhook delivery makes.

Meta's deliveries name a number (``phone_number_id``) or, on a per-config URL, a config
id; at hundreds of deliveries a second the lookup would be a query each. The config an
agent sends from, which every agent start asks, is kept here too. A
``kit.config_cache.ConfigCache``: entries live ``ttl`` seconds
(``THREADLINE_CONFIG_CACHE_SECONDS``; 0 turns the cache off) and hold read-only copies,
never rows of a session. Every write to a config in this process (create, update,
default, delete), and every change to an agent's numbers, empties the cache at once and
again when its transaction commits, so a reader that loaded the old row in between
cannot keep it.
A change made by another process is seen within ``ttl``: that long, a deleted config
may still be found there and a rotated app secret not yet used.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit import config_cache
from threadline.kit.config_cache import ConfigCache
from threadline.models import WhatsappConfig

__all__ = [
    "ConfigCache",
    "agent_number_key",
    "by_id_key",
    "by_number_key",
    "cache",
    "changed",
    "configure",
    "snapshot",
]

cache = ConfigCache()


def configure(ttl: float) -> None:
    """Set the process's TTL (``Settings.config_cache_seconds``) and start empty (every
    config cache of the process: ``kit.config_cache.configure``)."""
    config_cache.configure(ttl)


def changed(session: AsyncSession) -> None:
    """A config is being written in ``session``: forget now, and again at its commit."""
    cache.changed(session)


def snapshot(config: WhatsappConfig) -> WhatsappConfig:
    """A copy of the row that belongs to no session (safe to share between requests)."""
    columns = inspect(WhatsappConfig).column_attrs
    return WhatsappConfig(**{column.key: getattr(config, column.key) for column in columns})


def by_id_key(config_id: uuid.UUID) -> tuple[str, Any]:
    """The key of a lookup by config id."""
    return ("id", config_id)


def by_number_key(phone_number_id: str) -> tuple[str, Any]:
    """The key of a lookup by phone number id."""
    return ("number", phone_number_id)


def agent_number_key(agent_id: uuid.UUID) -> tuple[str, Any]:
    """The key of the config an agent sends from."""
    return ("agent_number", agent_id)
