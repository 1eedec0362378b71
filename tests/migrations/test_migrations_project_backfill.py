"""Migration 0007 copies each child row's project from its parent, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import MetaData, Table, insert, inspect, select
from sqlalchemy.engine import Connection
from test_migrations import _run, empty_url  # noqa: F401  (the fixture, both backends)

from threadline.kit.migrate import alembic_config, upgrade_async
from threadline.models import (
    ExecutionEvent,
    Flow,
    FlowExecution,
    FlowVersion,
    InboundWebhook,
    MessageStatusEvent,
    Project,
    WhatsappConfig,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PROJECT = uuid.uuid4()
FLOW, VERSION, EXECUTION, CONFIG = (uuid.uuid4() for _ in range(4))


def _to(revision: str, url: str) -> Any:
    def work(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    return work


def _old_rows(connection: Connection) -> None:
    """Rows as revision 0006 left them: children without project_id."""
    stamp = {"created_at": NOW, "updated_at": NOW}
    rows: list[tuple[Any, dict[str, Any]]] = [
        (Project, {"id": PROJECT, "name": "p", **stamp}),
        (Flow, {"id": FLOW, "project_id": PROJECT, "name": "f", "status": "active", **stamp}),
        (FlowVersion, {"id": VERSION, "flow_id": FLOW, "number": 1, "definition": {},
                       "created_at": NOW}),
        (FlowExecution, {"id": EXECUTION, "project_id": PROJECT, "flow_id": FLOW,
                         "flow_version_id": VERSION, "tracking_id": uuid.uuid4(),
                         "phone_number": "+15550001", "status": "ended", "current_node_id": "n",
                         "variables": {}, "context": {}, "system": {}, "started_at": NOW}),
        (ExecutionEvent, {"execution_id": EXECUTION, "kind": "started", "at": NOW}),
        (WhatsappConfig, {"id": CONFIG, "project_id": PROJECT, "name": "c", "kind": "sandbox",
                          "phone_number_id": "1", "display_phone_number": "1", "waba_id": "1",
                          "base_url": "", "api_version": "v23.0", "access_token_encrypted": "x",
                          **stamp}),
        (MessageStatusEvent, {"whatsapp_config_id": CONFIG, "wamid": "w", "status": "sent",
                              "payload": {}, "received_at": NOW}),
        (InboundWebhook, {"whatsapp_config_id": CONFIG, "body": "{}", "status": "processed",
                          "item_count": 0, "received_at": NOW}),
        (InboundWebhook, {"body": "{}", "status": "processed", "item_count": 0,
                          "received_at": NOW}),
    ]  # fmt: skip
    for model, values in rows:
        # Only the columns revision 0006 has (today's defaults would fill later ones too).
        present = {c["name"] for c in inspect(connection).get_columns(model.__tablename__)}
        columns = [c._copy() for c in model.__table__.c if c.name in present]
        then = Table(model.__tablename__, MetaData(), *columns)
        connection.execute(insert(then).values(**values))


def _projects(connection: Connection) -> dict[str, list[uuid.UUID | None]]:
    models = (ExecutionEvent, FlowVersion, MessageStatusEvent, InboundWebhook)
    return {
        model.__tablename__: list(
            connection.execute(select(model.project_id).order_by(model.id)).scalars()
        )
        for model in models
    }


async def test_children_get_their_parents_project(empty_url: str) -> None:  # noqa: F811
    await _run(empty_url, _to("0006", empty_url))
    await _run(empty_url, _old_rows)
    await upgrade_async(empty_url)
    assert await _run(empty_url, _projects) == {
        "execution_events": [PROJECT],
        "flow_versions": [PROJECT],
        "message_status_events": [PROJECT],
        "inbound_webhooks": [PROJECT, None],  # the app-wide delivery names no config
    }
