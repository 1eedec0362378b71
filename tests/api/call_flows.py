"""Flows around one call node, and what the call reported, for the call tests."""

from __future__ import annotations

from typing import Any

import httpx

from builders import TestProject, chain, edge, execution_events, node


def guarded(call: dict[str, Any]) -> dict[str, Any]:
    """start → ``call`` → ok, with an ``error`` edge from the call to ``sorry``."""
    definition = chain(node("start", "start"), call, node("ok", "send_text", message="ok"))
    definition["nodes"].append(node("sorry", "send_text", message="sorry"))
    definition["edges"].append(edge(call["id"], "sorry", "error"))
    return definition


async def call_error(
    client: httpx.AsyncClient, project: TestProject, execution: dict[str, Any]
) -> str:
    """The error of the execution's one call, asserting it left by the ``error`` edge."""
    events = await execution_events(client, project, execution["id"])
    left = [
        e["data"]["edge"] for e in events if e["kind"] == "step_left" and e["node_id"] == "call"
    ]
    assert left == ["error"], events
    [finished] = [e for e in events if e["kind"] in ("call_finished", "call_refused")]
    return str(finished["data"]["error"])
