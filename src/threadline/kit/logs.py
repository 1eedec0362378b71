"""Structured logs on stdlib ``logging``: one line per event, ``key=value`` text or JSON.

Callers log a short message with their facts in ``extra``::

    log.info("job done", extra={"task": "messaging.deliver", "duration_ms": 12.5})

and the formatter prints every such field. ``THREADLINE_LOG_FORMAT=json`` makes each line a
JSON object (for log shippers); the default is readable text. httpx's line per request
(one per Graph API call) is silenced, and uvicorn's access log is replaced by ours
(``threadline.access``, written by :class:`threadline.kit.observe.ObserveMiddleware`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from threadline.config import Settings

#: Attributes every ``LogRecord`` has; anything else on a record came from ``extra``
#: (except uvicorn's ``color_message``, the same message with terminal colours).
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

#: Libraries whose INFO lines are noise at our volume.
#: Loggers kept to warnings: per-request noise, and alembic's per-migration lines (the
#: start-up lists the migrations it applied itself, once: ``cli/startup.py``).
_QUIET = ("httpx", "httpcore", "uvicorn.access", "alembic.runtime.migration")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of ``record``, in the order they were given."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    needs_quotes = not text or any(c in text for c in ' "=\n')
    return json.dumps(text) if needs_quotes else text


class TextFormatter(logging.Formatter):
    """``2026-01-05T10:00:00.000Z INFO threadline.access request method=GET status=200``."""

    def format(self, record: logging.LogRecord) -> str:
        """One line; a traceback, if any, follows on the next lines."""
        head = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in fields(record).items())
        line = f"{head} {pairs}" if pairs else head
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message`` and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **fields(record),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _ThreadlineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler :func:`configure_logging` installed, so a second call replaces it."""


def configure_logging(settings: Settings) -> None:
    """Send every log line to stderr in ``settings.log_format`` at ``settings.log_level``."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _ThreadlineHandler)]:
        root.removeHandler(handler)
    handler = _ThreadlineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
