"""Webhook request tools: one HTTP request an agent's model asks for, its answer fed back.

The config is the webhook block of a Kapso agent graph (``WebhookNode.webhook`` or a
subagent's ``webhooks[]`` entry)::

    {"url": "https://api.x.com/orders/#{order_id}", "http_method": "GET",
     "headers": {"Authorization": "Bearer k"} | '{"Authorization": ...}',
     "body": {...} | "<JSON or text>", "body_schema": {...} | "<JSON>",
     "jmespath_query": "data.status", "mock_response": {...} | "<JSON or text>",
     "mock_response_enabled": false, "timeout_seconds": 30, "max_response_bytes": 262144}

``#{name}`` placeholders take the model's arguments first, then the execution's
variables. With a ``body_schema`` the body is the schema's properties found among the
arguments (Kapso's rule); otherwise it is ``body`` with its placeholders filled.

Failures the model can act on come back as ``is_error`` results. What a retry could
fix (the connection failed, a timeout, 429, 5xx) raises :class:`ToolRetryable` when
repeating the request is safe: a GET or HEAD, or a request that carried an
``Idempotency-Key`` (the job passes ``<execution>:<step>``, the same on every retry); otherwise the
model is told the outcome is unknown. A refused connection never reached the server,
so it is retried whatever the method.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Collection, Mapping
from typing import Any

import httpx
import jmespath
import jmespath.exceptions

from threadline.agent_tools import placeholders
from threadline.agent_tools.result import ToolResult, ToolRetryable, elapsed_ms
from threadline.kit.egress import EgressRefused

DEFAULT_TIMEOUT_SECONDS = 30.0
#: As ``THREADLINE_CALL_MAX_RESPONSE_BYTES`` defaults (the job passes the setting).
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024
#: The longest text handed to the model; a longer answer is cut (and says so).
MAX_CONTENT_CHARS = 16_000
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: A placeholder the model fills: a plain name (a dotted path is read from the run).
_ARGUMENT = re.compile(r"\w+")


class _Refused(Exception):
    """The request cannot be made as configured or with these arguments."""


def _json_or_text(value: Any) -> Any:
    """A config field Kapso stores as a JSON string, parsed; other text stays text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    parsed = _json_or_text(value) if value not in (None, "") else {}
    if not isinstance(parsed, dict):
        raise _Refused(f"the tool's {what} must be a JSON object")
    return parsed


def _method(config: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    written = str(config.get("http_method") or config.get("method") or "GET")
    method = placeholders.fill(written, values).strip().upper()
    if method not in METHODS:
        raise _Refused(f"the tool's HTTP method {method!r} is not one of {sorted(METHODS)}")
    return method


def _body(
    config: Mapping[str, Any], arguments: Mapping[str, Any], values: Mapping[str, Any]
) -> Any:
    schema = _mapping(config.get("body_schema"), "body_schema")
    if schema:
        properties = schema.get("properties") or {}
        return {name: arguments[name] for name in properties if name in arguments}
    body = config.get("body")
    return None if body in (None, "", {}) else placeholders.fill_body(body, values)


def _placeholder_texts(config: Mapping[str, Any], with_body: bool) -> list[str]:
    texts = [str(config.get("url") or ""), str(config.get("http_method") or "")]
    headers = config.get("headers")
    texts.append(headers if isinstance(headers, str) else json.dumps(headers or {}))
    body = config.get("body")
    if with_body and body is not None:
        texts.append(body if isinstance(body, str) else json.dumps(body))
    return texts


def webhook_parameters(config: Mapping[str, Any], *, known: Collection[str] = ()) -> dict[str, Any]:
    """The JSON Schema of the model's arguments, by Kapso's rule: each ``#{name}`` in the
    URL, method and headers (and the body, without a ``body_schema``) is a required
    string; a ``body_schema``'s properties keep their types and its ``required``.
    Names in ``known`` are filled from the execution's variables, so not asked for; nor
    are paths (``#{vars.x}``: a flow's scopes, read from the run)."""
    schema = _mapping(config.get("body_schema"), "body_schema")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for text in _placeholder_texts(config, with_body=not schema):
        for name in placeholders.names(text):
            if name not in known and name not in properties and _ARGUMENT.fullmatch(name):
                properties[name] = {"type": "string"}
                required.append(name)
    for name, spec in (schema.get("properties") or {}).items():
        properties[name] = spec if isinstance(spec, dict) else {}
    required += [n for n in schema.get("required") or [] if n in properties and n not in required]
    return {"type": "object", "properties": properties, "required": required}


def build_request(
    config: Mapping[str, Any],
    arguments: Mapping[str, Any],
    variables: Mapping[str, Any],
    *,
    http: httpx.AsyncClient,
    idempotency_key: str,
) -> httpx.Request:
    """The request the tool makes (raises ``ValueError`` with the reason when it cannot)."""
    values = {**variables, **arguments}
    url = placeholders.fill_url(str(config.get("url") or ""), values)
    headers = {
        str(name): placeholders.fill_header(str(name), str(value), values)
        for name, value in _mapping(config.get("headers"), "headers").items()
    }
    if idempotency_key:
        headers.setdefault("Idempotency-Key", idempotency_key)
    body = _body(config, arguments, values)
    text = body if isinstance(body, str) else None
    data = None if body is None or text is not None else body
    return http.build_request(
        _method(config, values), url, headers=headers, content=text, json=data
    )


async def call_webhook(
    config: dict[str, Any],
    arguments: dict[str, Any],
    variables: dict[str, Any],
    *,
    http: httpx.AsyncClient,
    idempotency_key: str,
    max_response_bytes: int | None = None,
) -> ToolResult:
    """Make the tool's request with the model's ``arguments`` and answer what it returned.

    ``http`` is the egress-checked client (``Resources.calls``); an empty
    ``idempotency_key`` sends none (and makes a POST unsafe to retry).
    ``max_response_bytes`` (``settings.call_max_response_bytes``) caps the answer,
    before the config's own ``max_response_bytes``.
    """
    if config.get("mock_response_enabled"):
        return _mocked(config)
    started = time.monotonic()
    try:
        request = build_request(
            config, arguments, variables, http=http, idempotency_key=idempotency_key
        )
    except (_Refused, ValueError, httpx.InvalidURL, UnicodeEncodeError) as error:
        return _error(f"The request was not sent: {error}", started, kind="invalid")
    safe = request.method in _SAFE_METHODS or "Idempotency-Key" in request.headers
    limit = max_response_bytes or int(config.get("max_response_bytes") or 0)
    return await _send(config, request, http, started=started, safe=safe, limit=limit)


def _mocked(config: Mapping[str, Any]) -> ToolResult:
    mock = _json_or_text(config.get("mock_response"))
    content = _select(config, 200, mock)
    return ToolResult(content=content, status_code=200, details={"mocked": True})


async def _send(
    config: Mapping[str, Any],
    request: httpx.Request,
    http: httpx.AsyncClient,
    *,
    started: float,
    safe: bool,
    limit: int,
) -> ToolResult:
    timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
    request.extensions["timeout"] = httpx.Timeout(timeout, connect=min(timeout, 10.0)).as_dict()
    limit = limit or DEFAULT_MAX_RESPONSE_BYTES
    details = {"method": request.method, "url": _redacted(request.url)}
    try:
        response = await http.send(request, stream=True)
        try:
            body = await _read(response, limit)
        finally:
            await response.aclose()
    except EgressRefused as refused:
        return _error(f"The request was refused: {refused}", started, kind="egress", **details)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        # Nothing reached the server: repeating is safe whatever the method.
        what = f"could not connect ({type(error).__name__}: {error})"
        raise _retryable(what, started, details) from error
    except httpx.TimeoutException as error:
        what = f"no answer within {timeout:g} s"
        if safe:
            raise _retryable(what, started, details) from error
        return _error(_unknown(what), started, "timeout", **details)
    except _TooLarge:
        return _error(f"The answer is larger than {limit} bytes.", started, "too_large", **details)
    except httpx.HTTPError as error:
        what = f"{type(error).__name__}: {error}"
        if safe:
            raise _retryable(what, started, details) from error
        return _error(_unknown(what), started, "transport", **details)
    return _answered(config, response, body, started=started, safe=safe, details=details)


def _answered(
    config: Mapping[str, Any],
    response: httpx.Response,
    body: bytes,
    *,
    started: float,
    safe: bool,
    details: dict[str, Any],
) -> ToolResult:
    status = response.status_code
    parsed = _parse(response, body)
    if status in _RETRYABLE_STATUS and safe:
        raise _retryable(f"HTTP {status}", started, details, retry_after=_retry_after(response))
    duration = elapsed_ms(started, time.monotonic())
    if response.is_success:
        content = _select(config, status, parsed)
        return ToolResult(content, status_code=status, duration_ms=duration, details=details)
    message = f"The request failed with HTTP {status}: {_cut(_as_text(parsed), 2000)}"
    if status in _RETRYABLE_STATUS:
        message += " (the server may have acted on it; do not assume it did not)"
    return ToolResult(message, True, status, duration, {**details, "error": "http_status"})


def _select(config: Mapping[str, Any], status: int, content: Any) -> str:
    """The JMESPath selection of the answer (Kapso: on the content, then on the whole
    result as a fallback), or the whole result."""
    whole = {"status_code": status, "content": content}
    query = str(config.get("jmespath_query") or "").strip()
    if not query:
        return _cut(_as_text(whole), MAX_CONTENT_CHARS)
    try:
        compiled = jmespath.compile(query)
    except jmespath.exceptions.JMESPathError as error:
        return _cut(_as_text({**whole, "jmespath_error": str(error)}), MAX_CONTENT_CHARS)
    found = compiled.search(content) if isinstance(content, dict | list) else None
    if found is None:
        found = compiled.search(whole)
    return _cut(_as_text(found), MAX_CONTENT_CHARS)


def _retryable(
    what: str, started: float, details: dict[str, Any], *, retry_after: float | None = None
) -> ToolRetryable:
    """The error to raise for a safe request a retry may fix (its result: if none does)."""
    result = _error(f"The request failed: {what}. Try again later.", started, "retry", **details)
    return ToolRetryable(f"webhook request failed: {what}", retry_after=retry_after, result=result)


def _unknown(what: str) -> str:
    return (
        f"The request failed ({what}) and was not retried: the server may or may not have "
        "acted on it. Check before repeating it."
    )


def _error(message: str, started: float, kind: str, **details: Any) -> ToolResult:
    duration = elapsed_ms(started, time.monotonic())
    return ToolResult(message, True, None, duration, {**details, "error": kind})


class _TooLarge(Exception):
    pass


async def _read(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _parse(response: httpx.Response, body: bytes) -> Any:
    text = body.decode(response.encoding or "utf-8", errors="replace")
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return {"text": text}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [cut: {len(text)} characters]"


def _redacted(url: httpx.URL) -> str:
    """The URL for the event log, without its query (it may carry keys)."""
    return str(url.copy_with(query=None, fragment=None, userinfo=b""))
