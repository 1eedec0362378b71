"""The world ``python -m bench.agents`` runs in: a project on the sandbox number, an agent
whose every answer asks the user something, a flow with a 10 s wait timer, and the calls
that start, resume and look at their executions as the API does."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

from bench import fixture
from threadline.agent_executions import service as agent_executions
from threadline.agent_executions.schemas import AgentExecutionCreate, AgentResumeIn, MessageIn
from threadline.agents import service as agents
from threadline.agents.schemas import AgentCreateFields
from threadline.executions import service as flow_executions
from threadline.executions.schemas import ExecutionCreate
from threadline.flows import service as flows
from threadline.flows.schemas import FlowCreateFields
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import FlowExecution, Project
from threadline.projects import service as projects
from threadline.triggers import service as triggers
from threadline.triggers.schemas import TriggerCreateFields

#: The shortest wait_for_response timeout a flow may have.
TIMER_SECONDS = 10
INACTIVITY = timedelta(hours=24)


def agent_graph() -> dict[str, Any]:
    """start → talk → end, as the builder SDK sends it."""

    def node(name: str, prompt: str) -> dict[str, Any]:
        return {"name": name, "type": "DefaultNode", "prompt": prompt, "global": False, "id": name}

    nodes = [node("__start__", ""), node("talk", "Help the user"), node("__end__", "")]
    edges = [
        {"from": "__start__", "to": "talk", "id": "s_t"},
        {"from": "talk", "to": "__end__", "id": "t_e"},
    ]
    return {"nodes": nodes, "edges": edges}


def timer_definition() -> dict[str, Any]:
    """start → wait_for_response (10 s timeout) → on timeout, send "late" and end."""
    node = fixture.flow_node
    nodes = [
        node("start", "start"),
        node("wait", "wait_for_response", save_response_to="x", timeout_seconds=TIMER_SECONDS),
        node("late", "send_text", message="late"),
    ]
    edges = [
        {"source": "start", "target": "wait", "label": "next"},
        {"source": "wait", "target": "late", "label": "timeout"},
    ]
    return {"nodes": nodes, "edges": edges}


@dataclasses.dataclass
class World:
    """A project on the sandbox number, its agent and a 1 s timer flow."""

    project: Project
    agent_id: uuid.UUID
    flow_id: uuid.UUID


async def build_world(resources: Resources) -> World:
    """The project (no model providers: the local model server answers), agent and flow."""
    async with resources.db.transaction() as session:
        project = (await projects.create(session, resources.cipher, name="bench-agents")).project
        fields = AgentCreateFields(name="bench", system_prompt="Be brief", graph=agent_graph())
        agent = await agents.create(session, project, fields, utcnow())
        flow = await flows.create(
            session,
            project,
            FlowCreateFields(name="t", definition=timer_definition(), status="active"),
        )
        await triggers.create(
            session, project, flow.id, TriggerCreateFields(trigger_type="api_call")
        )
    return World(project=project, agent_id=agent.id, flow_id=flow.id)


async def start_agent(resources: Resources, world: World, phone: str) -> uuid.UUID:
    """One agent execution started (its first model call job queued)."""
    data = AgentExecutionCreate(phone_number=phone, message="hi")
    async with resources.db.transaction() as session:
        execution = await agent_executions.start(
            session, world.project, world.agent_id, data, inactivity=INACTIVITY
        )
        return execution.id


async def resume_agent(resources: Resources, world: World, execution_id: uuid.UUID) -> None:
    """The user's message to a paused execution, as ``POST .../resume`` does."""
    data = AgentResumeIn(message=MessageIn(content={"text": "more"}))
    async with resources.db.transaction() as session:
        await agent_executions.resume(session, world.project, world.agent_id, execution_id, data)


async def start_timer(resources: Resources, world: World, phone: str) -> uuid.UUID:
    """A flow execution waiting 1 s for a reply that never comes."""
    async with resources.db.transaction() as session:
        started = await flow_executions.start(
            session,
            world.project,
            world.flow_id,
            ExecutionCreate(phone_number=phone),
            inactivity=INACTIVITY,
        )
        return started.execution.id


async def status_of(resources: Resources, execution_id: uuid.UUID) -> str:
    """The execution's runtime status (``waiting`` is an agent's ``paused``)."""
    async with resources.db.read() as session:
        row = await session.get(FlowExecution, execution_id)
        return "missing" if row is None else row.status
