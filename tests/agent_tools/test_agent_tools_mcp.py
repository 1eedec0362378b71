"""MCP tools against a real MCP server (the official SDK's, over streamable HTTP and SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as ServerToolError
from starlette.types import ASGIApp, Receive, Scope, Send

from support import free_port
from threadline.agent_tools.mcp_client import call_mcp_tool, list_mcp_tools
from threadline.agent_tools.result import ToolError, ToolRetryable
from tool_receiver import serve


def _server() -> MCPServer:
    server = MCPServer("docs", log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @server.tool()
    def search(query: str) -> dict[str, Any]:
        """Search the docs."""
        return {"results": [{"title": f"About {query}"}, {"title": "Other"}], "total": 2}

    @server.tool()
    def refuse(order_id: str) -> str:
        """Always fails with a message for the model."""
        raise ServerToolError(f"order {order_id} is locked")

    @server.tool()
    def crash() -> str:
        """Fails unexpectedly."""
        raise RuntimeError("secret internals")

    @server.tool()
    async def slow() -> str:
        """Takes its time."""
        await asyncio.sleep(2)
        return "late"

    return server


class _Recorder:
    """Records the headers of every request before the MCP app sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
async def mcp_server() -> AsyncIterator[tuple[str, _Recorder]]:
    """The MCP server on a free local port: its endpoint URL and its header recorder."""
    recorder = _Recorder(_server().streamable_http_app())
    server, task, base = await serve(recorder)
    yield f"{base}/mcp", recorder
    server.should_exit = True
    await task


def _config(url: str, **more: Any) -> dict[str, Any]:
    return {"url": url, "transport_kind": "streamable_http", "timeout_seconds": 5, **more}


async def test_lists_the_servers_tools_as_specs(
    mcp_server: tuple[str, _Recorder], calls: httpx.AsyncClient
) -> None:
    url, recorder = mcp_server
    headers = json.dumps({"Authorization": "Bearer mcp-key"})
    specs = {s.name: s for s in await list_mcp_tools(_config(url, headers=headers), http=calls)}
    assert set(specs) == {"add", "search", "refuse", "crash", "slow"}
    assert specs["add"].description == "Add two numbers."
    assert specs["add"].parameters["properties"].keys() == {"a", "b"}
    assert specs["add"].parameters["required"] == ["a", "b"]
    assert recorder.headers and recorder.headers[-1]["authorization"] == "Bearer mcp-key"


async def test_calls_a_tool_and_applies_its_jmespath_query(
    mcp_server: tuple[str, _Recorder], calls: httpx.AsyncClient
) -> None:
    url, recorder = mcp_server
    before = len(recorder.headers)
    added = await call_mcp_tool(
        _config(url), "add", {"a": 2, "b": 40}, http=calls, idempotency_key="run-1:7"
    )
    assert (added.content, added.is_error) == ("42", False)
    sent = recorder.headers[before:]
    assert sent and all(h.get("idempotency-key") == "run-1:7" for h in sent)
    queries = [{"tool_name": "search", "jmespath_query": "results[0].title"}]
    found = await call_mcp_tool(
        _config(url, jmespath_queries=queries), "search", {"query": "hours"}, http=calls
    )
    assert (found.content, found.is_error) == ("About hours", False)
    whole = await call_mcp_tool(_config(url), "search", {"query": "x"}, http=calls)
    assert json.loads(whole.content)["total"] == 2


async def test_a_tool_error_is_an_error_result(
    mcp_server: tuple[str, _Recorder], calls: httpx.AsyncClient
) -> None:
    url, _recorder = mcp_server
    refused = await call_mcp_tool(_config(url), "refuse", {"order_id": "77"}, http=calls)
    assert refused.is_error and "order 77 is locked" in refused.content
    crashed = await call_mcp_tool(_config(url), "crash", {}, http=calls)
    assert crashed.is_error and "secret internals" not in crashed.content
    unknown = await call_mcp_tool(_config(url), "nope", {}, http=calls)
    assert unknown.is_error and "nope" in unknown.content


async def test_a_call_that_times_out_is_an_error_not_a_retry(
    mcp_server: tuple[str, _Recorder], calls: httpx.AsyncClient
) -> None:
    url, _recorder = mcp_server
    result = await call_mcp_tool(_config(url, timeout_seconds=0.5), "slow", {}, http=calls)
    assert result.is_error and "may or may not have run" in result.content


async def test_a_server_that_is_down_is_retryable(calls: httpx.AsyncClient) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(ToolRetryable, match="unreachable"):
        await call_mcp_tool(_config(url), "add", {"a": 1, "b": 2}, http=calls)
    with pytest.raises(ToolRetryable):
        await list_mcp_tools(_config(url), http=calls)


async def test_the_egress_policy_refuses_the_server(
    mcp_server: tuple[str, _Recorder], strict_calls: httpx.AsyncClient
) -> None:
    url, recorder = mcp_server
    before = len(recorder.headers)
    result = await call_mcp_tool(_config(url), "add", {"a": 1, "b": 2}, http=strict_calls)
    assert result.is_error and "loopback" in result.content
    with pytest.raises(ToolError, match="loopback") as raised:
        await list_mcp_tools(_config(url), http=strict_calls)
    assert not raised.value.retryable
    assert len(recorder.headers) == before


async def test_not_an_mcp_endpoint_and_bad_configs(
    mcp_server: tuple[str, _Recorder], calls: httpx.AsyncClient
) -> None:
    url, _recorder = mcp_server
    with pytest.raises(ToolError) as raised:
        await list_mcp_tools(_config(url.replace("/mcp", "/elsewhere")), http=calls)
    assert not raised.value.retryable
    stdio = await call_mcp_tool(_config(url, transport_kind="stdio"), "add", {}, http=calls)
    assert stdio.is_error and "not supported" in stdio.content
    bad_header = _config(url, headers={"X": "a\r\nb"})
    result = await call_mcp_tool(bad_header, "add", {}, http=calls)
    assert result.is_error and "line breaks" in result.content
    with pytest.raises(ToolError, match="must be http"):
        await list_mcp_tools(_config("file:///etc/passwd"), http=calls)


@pytest.fixture(scope="module")
async def sse_server() -> AsyncIterator[tuple[str, _Recorder]]:
    """The same MCP server over the SSE transport: its ``/sse`` URL and its recorder."""
    recorder = _Recorder(_server().sse_app())
    server, task, base = await serve(recorder)
    yield f"{base}/sse", recorder
    server.should_exit = True
    await task


async def test_an_sse_server_lists_and_calls_its_tools_with_the_key_and_headers(
    sse_server: tuple[str, _Recorder], calls: httpx.AsyncClient
) -> None:
    url, recorder = sse_server
    config = _config(url, transport_kind="sse", headers={"Authorization": "Bearer sse-key"})
    specs = {s.name for s in await list_mcp_tools(config, http=calls)}
    assert {"add", "search"} <= specs
    before = len(recorder.headers)
    added = await call_mcp_tool(config, "add", {"a": 1, "b": 2}, http=calls, idempotency_key="k:3")
    assert (added.content, added.is_error) == ("3", False)
    sent = recorder.headers[before:]
    assert len(sent) >= 2  # the event stream and the posted messages
    assert all(h.get("idempotency-key") == "k:3" for h in sent)
    assert all(h.get("authorization") == "Bearer sse-key" for h in sent)
