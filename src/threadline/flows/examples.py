"""Request and response examples of the flows API, shown in the OpenAPI document."""

from __future__ import annotations

from typing import Any

FLOW_ID = "5b0e8e0a-7c1f-4a63-9a55-6a8f1f7d2c11"

DEFINITION: dict[str, Any] = {
    "nodes": [
        {"id": "start", "data": {"node_type": "start", "config": {}}},
        {
            "id": "confirm",
            "data": {
                "node_type": "send_text",
                "display_name": "Ask for confirmation",
                "config": {"message": "Hi {{vars.customer_name}}, confirm {{vars.order_id}}?"},
            },
        },
        {
            "id": "reply",
            "data": {
                "node_type": "wait_for_response",
                "config": {"timeout_seconds": 3600, "save_response_to": "answer"},
            },
        },
    ],
    "edges": [
        {"source": "start", "target": "confirm"},
        {"source": "confirm", "target": "reply"},
    ],
}

CREATE_BODY: dict[str, Any] = {
    "with_definition": {
        "summary": "A flow that asks a question and waits for the reply",
        "value": {
            "flow": {"name": "Order confirmation", "status": "draft", "definition": DEFINITION}
        },
    }
}

FLOW: dict[str, Any] = {
    "id": FLOW_ID,
    "name": "Order confirmation",
    "description": None,
    "status": "active",
    "project_id": "1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d",
    "created_at": "2026-01-05T09:00:00Z",
    "updated_at": "2026-01-05T09:30:00Z",
    "created_by": None,
    "last_executed_at": "2026-01-05T10:00:00Z",
    "execution_count": 1,
}

CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"content": {"application/json": {"example": {"data": {**FLOW, "status": "draft"}}}}}
}
