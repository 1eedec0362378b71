"""MCP servers as agent tools: list a server's tools, call one, over streamable HTTP or
(for older servers) the SSE transport.

The official ``mcp`` SDK speaks the protocol; its HTTP goes through our egress-checked
``httpx`` client (``kit/httpx2_bridge.py``), so a server's URL obeys the egress policy
on every connection, as Kapso's ``validate_mcp_entry`` intends. The config is a
subagent's ``mcp_servers[]`` entry::

    {"url": "https://mcp.example.com/mcp", "transport_kind": "streamable_http" | "sse",
     "headers": {"Authorization": "Bearer k"} | '{"Authorization": ...}',
     "timeout_seconds": 30,
     "jmespath_queries": [{"tool_name": "search", "jmespath_query": "results[0]"}]}

Each call opens a session and closes it (Kapso re-creates its client per call too).
A server that cannot be reached raises :class:`ToolRetryable` (nothing reached it); a
tool's own error, a refused URL, or a call that timed out after it was sent (the tool
may have run) come back as ``is_error`` results.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2
import jmespath
import jmespath.exceptions
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, EmbeddedResource, TextContent, TextResourceContents, Tool

from threadline.agent_tools.placeholders import UnsafeValue, check_header
from threadline.agent_tools.result import ToolError, ToolResult, ToolRetryable, elapsed_ms
from threadline.kit.egress import EgressRefused
from threadline.kit.httpx2_bridge import sdk_client
from threadline.llm.types import ToolSpec

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_CONTENT_CHARS = 16_000
MAX_PAGES = 20
TRANSPORTS = ("streamable_http", "sse")
#: MCP's JSON-RPC code for a request the client gave up waiting for.
REQUEST_TIMEOUT = -32001
_UNREACHABLE = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
_TRANSIENT = (httpx2.TransportError, httpx.TransportError, TimeoutError)


def _leaves(error: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups: the SDK's task groups wrap them."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _cause(error: BaseException) -> BaseException:
    """The most telling exception in ``error``: a refusal, then a network error, then any."""
    leaves = list(_leaves(error))
    for kinds in ((EgressRefused,), _UNREACHABLE, (MCPError,), _TRANSIENT):
        found = next((leaf for leaf in leaves if isinstance(leaf, kinds)), None)
        if found is not None:
            return found
    return leaves[0] if leaves else error


def _describe(error: BaseException) -> str:
    if isinstance(error, MCPError):
        return f"the server answered error {error.code}: {error.message}"
    return str(error) or type(error).__name__


def _timeout(config: Mapping[str, Any]) -> float:
    return float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)


def _headers(config: Mapping[str, Any]) -> dict[str, str]:
    raw = config.get("headers") or {}
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(parsed, dict):
        raise UnsafeValue("the server's headers must be a JSON object")
    return {str(k): check_header(str(k), str(v)) for k, v in parsed.items()}


def _url(config: Mapping[str, Any]) -> str:
    url = str(config.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeValue(f"the MCP server URL {url!r} must be http(s)://host/...")
    _transport(config)
    return url


def _transport(config: Mapping[str, Any]) -> str:
    kind = str(config.get("transport_kind") or "streamable_http")
    if kind not in TRANSPORTS:
        raise UnsafeValue(f"the MCP transport {kind!r} is not supported (use streamable_http)")
    return kind


def _check(config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (:class:`UnsafeValue`) for a config no call could use."""
    _url(config)
    _headers(config)
    _timeout(config)


@contextlib.asynccontextmanager
async def _session(
    config: Mapping[str, Any], http: httpx.AsyncClient, idempotency_key: str | None = None
) -> AsyncIterator[Client]:
    """A session with the server over its transport, every request through ``http``."""

    def fresh(
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        return _sdk_http(config, http, idempotency_key)

    seconds = _timeout(config)
    if _transport(config) == "sse":
        sse = sse_client(
            _url(config), timeout=seconds, sse_read_timeout=seconds, httpx_client_factory=fresh
        )
        async with Client(sse, read_timeout_seconds=seconds, cache=None) as client:
            yield client
        return
    async with fresh() as sdk:
        streamable = streamable_http_client(_url(config), http_client=sdk)
        async with Client(streamable, read_timeout_seconds=seconds, cache=None) as client:
            yield client


def _sdk_http(
    config: Mapping[str, Any], http: httpx.AsyncClient, idempotency_key: str | None = None
) -> httpx2.AsyncClient:
    seconds = _timeout(config)
    sdk = sdk_client(http, timeout=httpx2.Timeout(seconds, connect=min(seconds, 10.0)))
    sdk.headers.update(_headers(config))
    if idempotency_key is not None:
        sdk.headers["Idempotency-Key"] = idempotency_key
    return sdk


def _spec(tool: Tool) -> ToolSpec:
    description = tool.description or tool.title or f"The {tool.name} tool."
    return ToolSpec(name=tool.name, description=description, parameters=dict(tool.input_schema))


async def _all_tools(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _page in range(MAX_PAGES):
        listed = await client.list_tools(cursor=cursor)
        tools.extend(listed.tools)
        cursor = listed.next_cursor
        if not cursor:
            break
    return tools


async def list_mcp_tools(config: dict[str, Any], *, http: httpx.AsyncClient) -> list[ToolSpec]:
    """The tools the server offers, as the model is shown them.

    Raises :class:`ToolRetryable` when the server could not be reached or timed out, and
    :class:`ToolError` when it refused or is not an MCP server (or the config is wrong).
    """
    try:
        _check(config)
    except ValueError as invalid:
        raise ToolError(f"the MCP server is misconfigured: {invalid}") from invalid
    try:
        async with _session(config, http) as client:
            async with asyncio.timeout(_timeout(config) * 3):
                return [_spec(tool) for tool in await _all_tools(client)]
    except Exception as error:
        cause = _cause(error)
        message = f"listing the MCP server's tools failed: {_describe(cause)}"
        retry = isinstance(cause, _UNREACHABLE + _TRANSIENT) or _timed_out(cause)
        raise (ToolRetryable if retry else ToolError)(message) from error


def _timed_out(error: BaseException) -> bool:
    return isinstance(error, MCPError) and error.code == REQUEST_TIMEOUT


async def call_mcp_tool(
    config: dict[str, Any],
    name: str,
    arguments: dict[str, Any],
    *,
    http: httpx.AsyncClient,
    idempotency_key: str | None = None,
) -> ToolResult:
    """Call the server's tool ``name`` and answer its result for the model.

    A tool's error is an ``is_error`` result; so is any failure after the call was sent
    (the tool may have run: it is not repeated). A server that could not be reached
    raises :class:`ToolRetryable`. Every request of the call carries ``Idempotency-Key:
    <idempotency_key>`` (the job's ``<execution>:<step>``): a call repeated after a crash
    is recognisable by the server.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    details: dict[str, Any] = {"tool": name, "server": _redacted(str(config.get("url") or ""))}
    try:
        _check(config)
    except ValueError as invalid:
        content = f"The MCP server is misconfigured: {invalid}"
        return ToolResult(content, True, duration_ms=elapsed_ms(started, loop.time()))
    sent = False
    try:
        async with _session(config, http, idempotency_key) as client:
            async with asyncio.timeout(_timeout(config) * 3):
                sent = True
                result = await client.call_tool(name, arguments)
    except Exception as error:
        return _failed(error, sent=sent, started=started, now=loop.time(), details=details)
    content = _content(config, name, result)
    duration = elapsed_ms(started, loop.time())
    return ToolResult(content, bool(result.is_error), duration_ms=duration, details=details)


def _failed(
    error: Exception, *, sent: bool, started: float, now: float, details: dict[str, Any]
) -> ToolResult:
    cause = _cause(error)
    what = _describe(cause)
    duration = elapsed_ms(started, now)
    if isinstance(cause, EgressRefused):
        return ToolResult(f"The MCP server was refused: {what}", True, None, duration, details)
    transient = isinstance(cause, _TRANSIENT) or _timed_out(cause)
    if isinstance(cause, _UNREACHABLE) or (not sent and transient):
        result = ToolResult(f"The MCP server could not be reached: {what}", True, None, duration)
        raise ToolRetryable(f"MCP server unreachable: {what}", result=result) from error
    if transient:
        message = (
            f"The MCP tool call failed ({what}); the tool may or may not have run. "
            "Check before calling it again."
        )
        return ToolResult(message, True, None, duration, {**details, "error": "timeout"})
    return ToolResult(f"The MCP tool call failed: {what}", True, None, duration, details)


def _block_text(block: Any) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, EmbeddedResource) and isinstance(block.resource, TextResourceContents):
        return block.resource.text
    kind = getattr(block, "type", "content")
    where = getattr(block, "uri", None) or getattr(getattr(block, "resource", None), "uri", "")
    return f"[{kind}{' ' + str(where) if where else ''} omitted]"


def _query(config: Mapping[str, Any], name: str) -> str:
    for entry in config.get("jmespath_queries") or []:
        if isinstance(entry, Mapping) and entry.get("tool_name") == name:
            return str(entry.get("jmespath_query") or "")
    return ""


def _data(result: CallToolResult, text: str) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    try:
        return json.loads(text)
    except ValueError:
        return None


def _content(config: Mapping[str, Any], name: str, result: CallToolResult) -> str:
    """The text the model reads: the tool's text, or its JMESPath selection (Kapso's
    ``jmespath_queries``) from the structured result or the text parsed as JSON."""
    text = "\n".join(_block_text(block) for block in result.content)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    query, data = _query(config, name), _data(result, text)
    if query and data is not None and not result.is_error:
        try:
            found = jmespath.search(query, data)
        except jmespath.exceptions.JMESPathError:
            found = None
        if found is not None:
            text = found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + "... [cut]"


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}" + (
        parts.path
    )
