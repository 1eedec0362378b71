"""The HTTP calls of webhook, function and decide nodes, made from a job.

A call is at-least-once: a crash after the far end answered and before the answer is
recorded repeats it. Each request carries ``Idempotency-Key: <execution>:<step>`` so
the receiver can recognise the repeat.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from threadline.engine.state import CallResult
from threadline.executions import repository
from threadline.functions.service import endpoint as function_endpoint
from threadline.functions.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from threadline.kit.resources import Resources

FUNCTION_TIMEOUT_SECONDS = 15.0
EVENTS_SENT_TO_FUNCTIONS = 50


class TransientCallError(Exception):
    """The call may succeed if tried again (network error, 5xx, 429)."""


def _without_nul(value: Any) -> Any:
    """Drop NUL characters, which PostgreSQL cannot store in text or JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _parse(response: httpx.Response) -> Any:
    try:
        return _without_nul(response.json())
    except ValueError:
        return _without_nul(response.text)


def _result(response: httpx.Response) -> CallResult:
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientCallError(f"HTTP {response.status_code}")
    body = _parse(response)
    if response.is_success:
        return CallResult(ok=True, status_code=response.status_code, body=body)
    return CallResult(
        ok=False, status_code=response.status_code, body=body, error=f"HTTP {response.status_code}"
    )


async def _send(http: httpx.AsyncClient, request: httpx.Request, timeout: float) -> CallResult:
    # httpx's send() takes no timeout; the transport reads it from the request.
    request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
    try:
        response = await http.send(request)
    except httpx.HTTPError as error:
        raise TransientCallError(f"{type(error).__name__}: {error}") from error
    return _result(response)


async def webhook(resources: Resources, key: str, request: dict[str, Any]) -> CallResult:
    """Make a webhook node's request."""
    body = request.get("body")
    headers = {"Idempotency-Key": key, **request.get("headers", {})}
    content = body if isinstance(body, str) else None
    built = resources.http.build_request(
        request["method"],
        request["url"],
        headers=headers,
        content=content,
        json=None if body is None or isinstance(body, str) else body,
    )
    return await _send(resources.http, built, float(request.get("timeout_seconds", 10)))


async def _function_body(
    resources: Resources, execution_id: uuid.UUID, payload: dict[str, Any]
) -> tuple[str, str, bytes]:
    async with resources.db.session() as session:
        execution = await repository.load(session, execution_id)
        assert execution is not None
        target = await function_endpoint(
            session, resources.cipher, execution.project_id, payload["request"]["function_id"]
        )
        events = await repository.recent_events(
            session, execution_id, limit=EVENTS_SENT_TO_FUNCTIONS
        )
    document = {
        "kind": payload["kind"],
        "node_id": payload["node_id"],
        "available_edges": payload["request"]["available_edges"],
        "execution": {
            "id": str(execution.id),
            "flow_id": str(execution.flow_id),
            "phone_number": execution.phone_number,
            "variables": execution.variables,
            "context": execution.context,
            "system": execution.system,
        },
        "flow_events": [
            {"kind": e.kind, "node_id": e.node_id, "at": e.at.isoformat(), "data": e.data}
            for e in events
        ],
    }
    return target.url, target.secret, json.dumps(document, default=str).encode()


async def function(
    resources: Resources, key: str, execution_id: uuid.UUID, payload: dict[str, Any]
) -> CallResult:
    """Call a project's function with the execution's context, signed with its secret."""
    url, secret, body = await _function_body(resources, execution_id, payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    request = resources.http.build_request("POST", url, headers=headers, content=body)
    result = await _send(resources.http, request, FUNCTION_TIMEOUT_SECONDS)
    if result.ok and not isinstance(result.body, dict):
        return CallResult(
            ok=False,
            status_code=result.status_code,
            body=result.body,
            error="the function must answer with a JSON object",
        )
    return result
