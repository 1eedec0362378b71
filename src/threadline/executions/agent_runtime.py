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
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agents.flow_agent import flow_agent_graph
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
from threadline.flows.agent_config import AgentConfig
from threadline.flows.service import load_definition
from threadline.llm.types import ModelSettings
from threadline.models import AgentSnapshot, FlowExecution

KIND = "agent"
#: The call kinds an agent's execution waits on.
MODEL_CALL: CallKind = "model"
TOOL_CALL: CallKind = "agent_tool"
_CACHE_SIZE = 256


@dataclass(frozen=True)
class Version:
    """What an execution's agent is: a snapshot of an agent (snapshots never change), or
    the agent node of a flow version (neither do those). Cached per process by ``key``.

    ``model`` and ``settings`` are the flow node's (an agent's model is the project's
    default); ``max_model_calls`` the node's ``max_iterations``.
    """

    key: tuple[str, ...]
    graph: dict[str, Any]
    system_prompt: str
    name: str
    agent_version: int
    mcp_servers: tuple[dict[str, Any], ...]
    model: str | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)
    max_model_calls: int | None = None


_versions: OrderedDict[tuple[str, ...], Version] = OrderedDict()
_views: OrderedDict[tuple[Any, ...], AgentGraph] = OrderedDict()


class VersionMissing(Exception):
    """The snapshot an execution is pinned to is gone (its agent was deleted)."""


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


async def version_of(session: AsyncSession, execution: FlowExecution) -> Version:
    """The agent ``execution`` runs: its snapshot's, or its flow's current agent node's."""
    if execution.kind != KIND:
        version_id = execution.flow_refs()[1]
        return await flow_node_version(session, version_id, execution.current_node_id)
    snapshot_id = execution.agent_snapshot_id
    if snapshot_id is None:
        raise VersionMissing(f"agent execution {execution.id} is pinned to no version")
    key = ("snapshot", str(snapshot_id))
    if key not in _versions:
        snapshot = await session.get(AgentSnapshot, snapshot_id)
        if snapshot is None:
            raise VersionMissing(f"agent snapshot {snapshot_id} does not exist")
        version = Version(
            key=key,
            graph=snapshot.graph,
            system_prompt=snapshot.system_prompt or "",
            name=snapshot.name,
            agent_version=snapshot.agent_version,
            mcp_servers=tuple(mcp_servers.servers_of(snapshot.graph)),
        )
        _remember(_versions, key, version)
    return _versions[key]


async def flow_node_version(
    session: AsyncSession, flow_version_id: uuid.UUID, node_id: str
) -> Version:
    """The agent of the ``agent`` node ``node_id`` of a flow version."""
    key = ("flow", str(flow_version_id), node_id)
    if key not in _versions:
        node = (await load_definition(session, flow_version_id)).node(node_id)
        if not isinstance(node.config, AgentConfig):
            raise VersionMissing(f"flow node {node_id!r} is not an agent node")
        _remember(_versions, key, _flow_version(key, node_id, node.config))
    return _versions[key]


def _flow_version(key: tuple[str, ...], node_id: str, config: AgentConfig) -> Version:
    graph = flow_agent_graph(node_id, config)
    return Version(
        key=key,
        graph=graph,
        system_prompt=config.system_prompt,
        name=node_id,
        agent_version=2,  # a flow's agent talks in plain text
        mcp_servers=tuple(mcp_servers.servers_of(graph)),
        model=config.provider_model_name,
        settings=ModelSettings(
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            reasoning_effort=config.reasoning_effort,
        ),
        max_model_calls=config.max_iterations,
    )


def view_of(version: Version) -> AgentGraph:
    """The interpreter's view of ``version``, with the MCP tools this process knows."""
    tools = mcp_servers.known(version.mcp_servers)
    offered = tuple((url, tuple(t.name for t in specs)) for url, specs in sorted(tools.items()))
    key = (version.key, hash(offered))
    if key not in _views:
        view = to_view(
            version.graph,
            system_prompt=version.system_prompt,
            name=version.name,
            agent_version=version.agent_version,
            mcp_tools=tools,
        )
        if version.max_model_calls is not None:
            view = replace(view, max_model_calls_per_turn=version.max_model_calls)
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
        outcome = await advance_interpreter(session, execution, event, now)
    except VersionMissing as missing:
        return failed_outcome(execution, str(missing)), dict(execution.agent_state or {})
    return to_outcome(execution, outcome), dump_state(outcome.state)


async def advance_interpreter(
    session: AsyncSession,
    execution: FlowExecution,
    event: EngineInput | AgentInput,
    now: datetime,
) -> AgentOutcome:
    """What the interpreter decides for ``event`` on the agent ``execution`` runs (its
    own, or its flow's agent node's); raises :class:`VersionMissing`."""
    graph = await graph_of(session, execution)
    state = load_state(execution.agent_state or initial_state({}))
    return advance_agent(graph, state, agent_input(execution, event), now)


def run_state(execution: FlowExecution, node: str) -> RunState:
    """The engine's state of ``execution`` as stored, at ``node``."""
    return RunState(
        node_id=node,
        phone_number=execution.phone_number,
        variables=dict(execution.variables),
        context=dict(execution.context),
        system=dict(execution.system),
    )


def failed_outcome(
    execution: FlowExecution, message: str, state: RunState | None = None
) -> Outcome:
    """The execution fails with ``message`` (at ``state``, else where it is stored)."""
    state = state or run_state(execution, execution.current_node_id)
    error = {"message": message}
    event = LogEvent("error", state.node_id or None, error)
    return Outcome(status="failed", state=state, events=[event], error=error)


def to_outcome(
    execution: FlowExecution, agent: AgentOutcome, *, state: RunState | None = None
) -> Outcome:
    """The runtime's :class:`Outcome` for what the interpreter decided (``state``: the
    flow's, for the agent of a flow's agent node)."""
    outcome = Outcome(
        status="running",
        state=state or run_state(execution, agent.state.node),
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
        stopped = "the agent stopped without anything to wait for"
        return failed_outcome(execution, stopped, outcome.state)
    outcome.wait_reason = "call"
    return outcome
