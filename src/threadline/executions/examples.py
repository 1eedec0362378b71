"""Request and response examples of the executions API, shown in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from threadline.flows.examples import FLOW, FLOW_ID

_EXECUTION_ID = "0f6b1c8e-1d7a-4d0c-8f0e-2b7e3c9a4d55"
_TRACKING_ID = "9c2d4e6f-8a0b-4c1d-9e2f-3a4b5c6d7e8f"

CREATE_BODY: dict[str, Any] = {
    "start": {
        "summary": "Start a flow for one contact",
        "value": {
            "phone_number": "+15551234567",
            "variables": {"customer_name": "Ana", "order_id": "A-1001"},
        },
    }
}

CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "content": {
            "application/json": {
                "example": {
                    "flow_id": FLOW_ID,
                    "tracking_id": _TRACKING_ID,
                    "message": "Flow execution queued",
                }
            }
        }
    }
}

RESUME_BODY: dict[str, Any] = {
    "reply": {"summary": "The contact's reply", "value": {"input": "yes, confirm my order"}},
}

_EXECUTION: dict[str, Any] = {
    "id": _EXECUTION_ID,
    "flow_id": FLOW_ID,
    "status": "waiting",
    "started_at": "2026-01-05T10:00:00Z",
    "ended_at": None,
    "last_event_at": "2026-01-05T10:00:02Z",
    "tracking_id": _TRACKING_ID,
    "current_step": {
        "id": "3e1f0a9b-5c2d-4e7f-8a1b-9c0d1e2f3a4b",
        "name": "reply",
        "step_type": "wait_for_response",
        "node_id": "reply",
    },
    "execution_context": {},
    "variables": {"customer_name": "Ana", "order_id": "A-1001"},
    "phone_number": "+15551234567",
    "flow": FLOW,
    "wait_reason": "user_input",
    "wait_until": None,
    "error": None,
}

RESUME_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": {"data": _EXECUTION}}}}
}
