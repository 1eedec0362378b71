"""Turning flow rows into the API's shapes."""

from __future__ import annotations

from typing import Any

from threadline.flows.schemas import FlowOut, FlowWithDefinitionOut, WhatsappConfigBrief
from threadline.models import Flow, FlowVersion, WhatsappConfig


def flow_out(flow: Flow) -> FlowOut:
    """A flow as the reference's ``Flow`` schema."""
    return FlowOut(
        id=flow.id,
        name=flow.name,
        description=flow.description,
        status=flow.status,
        project_id=flow.project_id,
        created_at=flow.created_at,
        updated_at=flow.updated_at,
        last_executed_at=flow.last_executed_at,
        execution_count=flow.execution_count,
    )


def _node_out(node: dict[str, Any]) -> dict[str, Any]:
    data = dict(node.get("data", {}))
    # The reference's response schema spells these in camelCase, the SDK in snake_case.
    data["nodeType"] = data.get("node_type")
    if data.get("display_name") is not None:
        data["displayName"] = data["display_name"]
    return {**node, "data": data}


def definition_out(version: FlowVersion | None) -> dict[str, Any]:
    """The stored definition, with both spellings of node fields."""
    if version is None:
        return {"nodes": [], "edges": []}
    definition = version.definition
    return {
        "nodes": [_node_out(node) for node in definition.get("nodes", [])],
        "edges": definition.get("edges", []),
    }


def flow_with_definition_out(
    flow: Flow, version: FlowVersion | None, configs: list[WhatsappConfig]
) -> FlowWithDefinitionOut:
    """A flow with its current definition and the configs it can send from."""
    return FlowWithDefinitionOut(
        **flow_out(flow).model_dump(),
        definition=definition_out(version),
        version=version.number if version else None,
        whatsapp_configs=[
            WhatsappConfigBrief(id=c.id, name=c.name, phone_number=c.display_phone_number)
            for c in configs
        ],
    )
