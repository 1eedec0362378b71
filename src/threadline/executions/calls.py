"""The HTTP calls of webhook, function and decide nodes, made from a job.

A call is at-least-once: a crash after the far end answered and before the answer is
recorded repeats it. Each request carries ``Idempotency-Key: <execution>:<step>`` so
the receiver can recognise the repeat.

Every failure is either transient (:class:`TransientCallError`: network errors,
timeouts, 5xx, 429; retried) or permanent (:class:`PermanentCallError`: egress
refused, an invalid URL or header, an answer too large; the ``error`` edge at once).
Calls go through ``resources.calls``, the egress-checked client (``kit/egress.py``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid
from typing import Any

import httpx

from threadline.engine.state import CallResult
from threadline.executions import repository
from threadline.functions.service import endpoint as function_endpoint
from threadline.functions.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from threadline.kit.egress import EgressRefused
from threadline.kit.resources import Resources

FUNCTION_TIMEOUT_SECONDS = 15.0
EVENTS_SENT_TO_FUNCTIONS = 50


class TransientCallError(Exception):
    """The call may succeed if tried again (network error, timeout, 5xx, 429)."""


class PermanentCallError(Exception):
    """The call cannot succeed as it is; it takes the ``error`` edge without retrying."""


# Errors of the request itself (or of where it points): trying again changes nothing.
_PERMANENT_HTTP_ERRORS = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.TooManyRedirects,
    httpx.DecodingError,
)
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?", re.ASCII)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """Drop NUL characters and replace lone surrogates, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(response: httpx.Response, content: bytes) -> Any:
    """Standard JSON as a value; anything else (``NaN`` too) as text, on every database."""
    try:
        return _storable(json.loads(content, parse_constant=_no_constant))
    except ValueError:
        return _storable(content.decode(response.encoding or "utf-8", errors="replace"))


def _too_large(limit: int) -> PermanentCallError:
    return PermanentCallError(
        f"the answer is larger than {limit} bytes (THREADLINE_CALL_MAX_RESPONSE_BYTES)"
    )


async def _read(response: httpx.Response, limit: int) -> bytes:
    """The (decoded) body, refused once it passes ``limit`` bytes, before reading it all."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def _result(response: httpx.Response, limit: int) -> CallResult:
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientCallError(f"HTTP {response.status_code}")
    body = _parse(response, await _read(response, limit))
    if response.is_success:
        return CallResult(ok=True, status_code=response.status_code, body=body)
    return CallResult(
        ok=False, status_code=response.status_code, body=body, error=f"HTTP {response.status_code}"
    )


async def _send(resources: Resources, request: httpx.Request, timeout: float) -> CallResult:
    # httpx's send() takes no timeout; the transport reads it from the request.
    request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
    limit = resources.settings.call_max_response_bytes
    try:
        response = await resources.calls.send(request, stream=True)
        try:
            return await _result(response, limit)
        finally:
            await response.aclose()
    except EgressRefused as refused:
        raise PermanentCallError(str(refused)) from refused
    except _PERMANENT_HTTP_ERRORS as error:
        raise PermanentCallError(f"{type(error).__name__}: {error}") from error
    except httpx.HTTPError as error:
        raise TransientCallError(f"{type(error).__name__}: {error}") from error


def _check_target(url: httpx.URL) -> None:
    """Refuse a host or port no connection could use (httpx would encode or pass them)."""
    host = url.raw_host.decode("ascii", errors="replace")  # IDNA names as punycode
    host_ok = _HOST.fullmatch(host) is not None or _is_ip(host)
    if not host_ok or not 0 < (url.port or 80) < 65536:
        raise httpx.InvalidURL(f"bad host or port {url.netloc.decode(errors='replace')!r}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _build(resources: Resources, method: str, url: str, **options: Any) -> httpx.Request:
    try:
        request = resources.calls.build_request(method, url, **options)
        _check_target(request.url)
    except httpx.InvalidURL as error:
        raise PermanentCallError(f"invalid URL {url!r}: {error}") from error
    except UnicodeEncodeError as error:
        raise PermanentCallError(f"a header value is not ASCII: {error}") from error
    return request


async def webhook(resources: Resources, key: str, request: dict[str, Any]) -> CallResult:
    """Make a webhook node's request."""
    body = request.get("body")
    headers = {"Idempotency-Key": key, **request.get("headers", {})}
    built = _build(
        resources,
        request["method"],
        request["url"],
        headers=headers,
        content=body if isinstance(body, str) else None,
        json=None if body is None or isinstance(body, str) else body,
    )
    return await _send(resources, built, float(request.get("timeout_seconds", 10)))


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
            session, execution.project_id, execution_id, limit=EVENTS_SENT_TO_FUNCTIONS
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
    request = _build(resources, "POST", url, headers=headers, content=body)
    result = await _send(resources, request, FUNCTION_TIMEOUT_SECONDS)
    if result.ok and not isinstance(result.body, dict):
        return CallResult(
            ok=False,
            status_code=result.status_code,
            body=result.body,
            error="the function must answer with a JSON object",
        )
    return result
