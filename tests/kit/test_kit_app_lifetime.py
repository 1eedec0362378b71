"""An app dropped is freed: nothing process-wide keeps it (tests make hundreds of them).

FastAPI caches facts about endpoint callables in process-wide caches; an endpoint that
closes over its app would keep every app built in the process alive, and with it its
routes and validators: the test process grew by gigabytes and stalled in garbage
collection for seconds at a time.
"""

from __future__ import annotations

import gc
import weakref

from threadline.app import create_app
from threadline.config import Settings


def test_a_dropped_app_with_its_sandbox_and_model_server_is_freed(settings: Settings) -> None:
    enabled = settings.model_copy(update={"sandbox_enabled": True, "model_server_enabled": True})
    app = create_app(enabled)
    mounted = [weakref.ref(route.app) for route in app.routes if hasattr(route, "app")]
    freed = weakref.ref(app)
    del app
    gc.collect()
    assert freed() is None
    assert all(ref() is None for ref in mounted)
