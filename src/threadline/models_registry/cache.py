"""The process's cache of resolved models: every model call of a turn resolves its
model by name, which is otherwise one or two queries.

A ``kit.config_cache.ConfigCache`` (``THREADLINE_CONFIG_CACHE_SECONDS``): any write to
a project's providers or models in this process (the ORM's inserts, updates and
deletes of either table, and the registry's own statements) empties it at once and
again at commit; a change made by another process is seen within the TTL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper, object_session

from threadline.kit.config_cache import ConfigCache
from threadline.models import ModelProvider, ProjectModel

cache = ConfigCache()


def _written(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    session = object_session(target)
    if session is None:
        cache.clear()
    else:
        cache.changed(session)


for _table in (ModelProvider, ProjectModel):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_table, _event, _written)
