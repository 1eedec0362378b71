"""How the runtime reads an agent's outcome and feeds it inputs (pure: no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from agent_views import call, new_state, reply, support_graph
from threadline.engine.agent.advance import advance_agent
from threadline.engine.agent.state import (
    AgentOutcome,
    AgentStart,
    HandoffReleased,
    ModelAnswered,
    TimerFired,
    ToolRequest,
    UserMessage,
)
from threadline.engine.state import CallResult, Resume, SendMessage, Start
from threadline.executions import agent_runtime
from threadline.models import FlowExecution

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _execution(*, test: bool = False, text: str | None = "hi") -> FlowExecution:
    return FlowExecution(
        id=uuid.uuid4(),
        kind="agent",
        phone_number="15550001111",
        status="running",
        current_node_id="",
        step_seq=0,
        variables={"tier": "gold"},
        context={},
        system={"last_user_input": text},
        test=test,
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Start(), AgentStart(text="hi")),
        (
            Resume(reason="user_input", input="where is my order?"),
            UserMessage("where is my order?"),
        ),
        (Resume(reason="api", input=None), UserMessage("")),
        (Resume(reason="timeout"), TimerFired()),
        (Resume(reason="handoff_released"), HandoffReleased()),
    ],
)
def test_the_runtime_inputs_become_the_interpreters(event: object, expected: object) -> None:
    assert agent_runtime.agent_input(_execution(), event) == expected  # type: ignore[arg-type]


def test_a_flow_call_result_is_refused() -> None:
    with pytest.raises(TypeError):
        agent_runtime.agent_input(_execution(), CallResult(ok=True))


def _outcome(**fields: object) -> AgentOutcome:
    state = new_state()
    state.node = "greet"
    return AgentOutcome(state=state, **fields)  # type: ignore[arg-type]


def test_a_model_call_is_a_call_job_of_kind_model() -> None:
    outcome = agent_runtime.to_outcome(_execution(), _outcome(status="running", call_model=True))
    assert (outcome.status, outcome.wait_reason) == ("running", "call")
    assert outcome.call is not None and (outcome.call.kind, outcome.call.node_id) == (
        "model",
        "greet",
    )
    assert outcome.state.variables == {"tier": "gold"}


def test_an_external_tool_is_a_call_job_with_everything_it_needs() -> None:
    tool = ToolRequest("c1", "orders_request", "webhook", "greet", {"id": "A1"}, {"url": "u"})
    outcome = agent_runtime.to_outcome(_execution(), _outcome(status="running", tool=tool))
    assert outcome.call is not None and outcome.call.kind == "agent_tool"
    assert outcome.call.request == {
        "call_id": "c1",
        "name": "orders_request",
        "kind": "webhook",
        "node": "greet",
        "arguments": {"id": "A1"},
        "config": {"url": "u"},
    }


def test_running_with_nothing_to_wait_for_fails_instead_of_hanging() -> None:
    outcome = agent_runtime.to_outcome(_execution(), _outcome(status="running"))
    assert outcome.status == "failed"
    assert outcome.error is not None and "without anything to wait for" in outcome.error["message"]


@pytest.mark.parametrize(
    ("fields", "status", "wait", "seconds"),
    [
        ({"status": "paused"}, "waiting", "user_input", None),
        ({"status": "paused", "wait_minutes": 5}, "waiting", "user_input", 300),
        ({"status": "handoff"}, "waiting", "handoff", None),
        ({"status": "ended"}, "ended", None, None),
        ({"status": "failed", "error": {"message": "x"}}, "failed", None, None),
    ],
)
def test_waits_and_ends(
    fields: dict[str, object], status: str, wait: str | None, seconds: int | None
) -> None:
    outcome = agent_runtime.to_outcome(_execution(), _outcome(**fields))
    assert (outcome.status, outcome.wait_reason, outcome.wait_seconds) == (status, wait, seconds)


def test_a_test_run_keeps_its_messages_and_sends_none() -> None:
    send = SendMessage(node_id="greet", payload={"type": "text", "text": {"body": "Hi"}})
    sent = agent_runtime.to_outcome(_execution(), _outcome(status="paused", sends=[send]))
    kept = agent_runtime.to_outcome(_execution(test=True), _outcome(status="paused", sends=[send]))
    assert (sent.sends, kept.sends) == ([send], [])


def test_an_interpreted_turn_maps_end_to_end() -> None:
    graph, state = support_graph(), new_state()
    started = advance_agent(graph, state, AgentStart(text="hi"), NOW)
    assert agent_runtime.to_outcome(_execution(), started).call is not None
    answered = advance_agent(
        graph, state, ModelAnswered(reply(call("AskUserForInput", message="Which order?"))), NOW
    )
    outcome = agent_runtime.to_outcome(_execution(), answered)
    assert (outcome.status, outcome.wait_reason) == ("waiting", "user_input")
    assert [s.payload["text"]["body"] for s in outcome.sends] == ["Which order?"]
