"""An agent's execution on the executions runtime: the agent interpreter behind the same
row, event log, outbox, timers and call jobs as a flow's.

:func:`advance_stored` loads the version the execution is pinned to (a snapshot, turned
into the interpreter's view once per process: snapshots never change), translates the
runtime's input into the interpreter's, runs :func:`~threadline.engine.agent.advance.
advance_agent`, and turns its :class:`AgentOutcome` into the flow engine's
:class:`Outcome`, which ``runtime.apply`` writes like any other:

====================  ==========================================================
agent status          execution
====================  ==========================================================
running + model call  ``running``, waiting on a ``call`` job of kind ``model``
running + tool        ``running``, waiting on a ``call`` job of kind ``agent_tool``
paused                ``waiting`` on ``user_input`` (a warm end arms its timer)
handoff               ``waiting`` on ``handoff`` (people have the conversation)
ended, failed         ``ended``, ``failed``
====================  ==========================================================

A test run (a test chat) keeps its messages in the transcript and sends none.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agents.view import to_view
from threadline.engine.agent.advance import advance_agent
from threadline.engine.agent.codec import dump_state, load_state
from threadline.engine.agent.graph import START, AgentGraph
from threadline.engine.agent.state import (
    AgentInput,
    AgentOutcome,
    AgentStart,
    AgentState,
    HandoffReleased,
    TimerFired,
    UserMessage,
)
from threadline.engine.state import (
    CallKind,
    EngineInput,
    HttpCall,
    LogEvent,
    Outcome,
    Resume,
    RunState,
    Start,
)
from threadline.executions import mcp_servers
from threadline.models import AgentSnapshot, FlowExecution

KIND = "agent"
#: The call kinds an agent's execution waits on.
MODEL_CALL: CallKind = "model"
TOOL_CALL: CallKind = "agent_tool"
_CACHE_SIZE = 256


@dataclass(frozen=True)
class Version:
    """What an execution's snapshot holds (snapshots never change: cached per process)."""

    snapshot_id: uuid.UUID
    graph: dict[str, Any]
    system_prompt: str
    name: str
    agent_version: int
    mcp_servers: tuple[dict[str, Any], ...]


_versions: OrderedDict[uuid.UUID, Version] = OrderedDict()
_views: OrderedDict[tuple[uuid.UUID, int], AgentGraph] = OrderedDict()


class VersionMissing(Exception):
    """The snapshot an execution is pinned to is gone (its agent was deleted)."""


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


async def version_of(session: AsyncSession, execution: FlowExecution) -> Version:
    """The version ``execution`` is pinned to."""
    key = execution.agent_snapshot_id
    if key is None:
        raise VersionMissing(f"agent execution {execution.id} is pinned to no version")
    if key not in _versions:
        snapshot = await session.get(AgentSnapshot, key)
        if snapshot is None:
            raise VersionMissing(f"agent snapshot {key} does not exist")
        version = Version(
            snapshot_id=key,
            graph=snapshot.graph,
            system_prompt=snapshot.system_prompt or "",
            name=snapshot.name,
            agent_version=snapshot.agent_version,
            mcp_servers=tuple(mcp_servers.servers_of(snapshot.graph)),
        )
        _remember(_versions, key, version)
    return _versions[key]


def view_of(version: Version) -> AgentGraph:
    """The interpreter's view of ``version``, with the MCP tools this process knows."""
    tools = mcp_servers.known(server["url"] for server in version.mcp_servers)
    offered = tuple((url, tuple(t.name for t in specs)) for url, specs in sorted(tools.items()))
    key = (version.snapshot_id, hash(offered))
    if key not in _views:
        view = to_view(
            version.graph,
            system_prompt=version.system_prompt,
            name=version.name,
            agent_version=version.agent_version,
            mcp_tools=tools,
        )
        _remember(_views, key, view)
    return _views[key]


async def graph_of(session: AsyncSession, execution: FlowExecution) -> AgentGraph:
    """The interpreter's view of the version ``execution`` is pinned to."""
    return view_of(await version_of(session, execution))


def initial_state(metadata: dict[str, Any]) -> dict[str, Any]:
    """A new execution's ``agent_state``: before the start node, knowing ``metadata``."""
    return dump_state(AgentState(node=START, metadata=dict(metadata)))


def agent_input(execution: FlowExecution, event: EngineInput | AgentInput) -> AgentInput:
    """The interpreter's input for what the runtime was given."""
    if isinstance(event, Start):
        return AgentStart(text=execution.system.get("last_user_input"))
    if isinstance(event, Resume):
        if event.reason == "timeout":
            return TimerFired()
        if event.reason == "handoff_released":
            return HandoffReleased()
        return UserMessage(text=event.input or "")
    if isinstance(event, AgentInput):
        return event
    raise TypeError(f"an agent execution cannot take {type(event).__name__}")


async def advance_stored(
    session: AsyncSession,
    execution: FlowExecution,
    event: EngineInput | AgentInput,
    now: datetime,
) -> tuple[Outcome, dict[str, Any]]:
    """Advance the agent execution; the runtime's outcome and the new ``agent_state``."""
    try:
        graph = await graph_of(session, execution)
    except VersionMissing as missing:
        return _failed(execution, str(missing)), dict(execution.agent_state or {})
    state = load_state(execution.agent_state or initial_state({}))
    outcome = advance_agent(graph, state, agent_input(execution, event), now)
    return to_outcome(execution, outcome), dump_state(outcome.state)


def _run_state(execution: FlowExecution, node: str) -> RunState:
    return RunState(
        node_id=node,
        phone_number=execution.phone_number,
        variables=dict(execution.variables),
        context=dict(execution.context),
        system=dict(execution.system),
    )


def _failed(execution: FlowExecution, message: str) -> Outcome:
    error = {"message": message}
    event = LogEvent("error", execution.current_node_id or None, error)
    state = _run_state(execution, execution.current_node_id)
    return Outcome(status="failed", state=state, events=[event], error=error)


def to_outcome(execution: FlowExecution, agent: AgentOutcome) -> Outcome:
    """The runtime's :class:`Outcome` for what the interpreter decided."""
    outcome = Outcome(
        status="running",
        state=_run_state(execution, agent.state.node),
        sends=[] if execution.test else list(agent.sends),
        events=list(agent.events),
        error=agent.error,
    )
    if agent.status == "running":
        return _with_call(execution, outcome, agent)
    if agent.status == "paused":
        outcome.status, outcome.wait_reason = "waiting", "user_input"
        outcome.wait_seconds = agent.wait_minutes * 60 if agent.wait_minutes else None
    elif agent.status == "handoff":
        outcome.status, outcome.wait_reason = "waiting", "handoff"
    else:
        outcome.status = agent.status
    return outcome


def _with_call(execution: FlowExecution, outcome: Outcome, agent: AgentOutcome) -> Outcome:
    node = agent.state.node
    if agent.tool is not None:
        tool = agent.tool
        request = {
            "call_id": tool.call_id,
            "name": tool.name,
            "kind": tool.kind,
            "node": tool.node,
            "arguments": tool.arguments,
            "config": tool.config,
        }
        outcome.call = HttpCall(node, TOOL_CALL, request)
    elif agent.call_model:
        outcome.call = HttpCall(node, MODEL_CALL, {})
    else:
        return _failed(execution, "the agent stopped without anything to wait for")
    outcome.wait_reason = "call"
    return outcome
