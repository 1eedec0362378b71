"""Importing every module that registers job handlers."""

from __future__ import annotations


def load_tasks() -> None:
    """Register all tasks with the job registry (idempotent)."""
    from threadline.conversations import tasks as _conversations  # noqa: F401
    from threadline.executions import tasks as _executions  # noqa: F401
    from threadline.inbound import tasks as _inbound  # noqa: F401
    from threadline.messaging import tasks as _messaging  # noqa: F401
    from threadline.whatsapp_messages import tasks as _whatsapp_messages  # noqa: F401
