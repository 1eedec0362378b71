"""The interpreter as a pure function: no database, no clock, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from builders import chain, edge, node
from threadline.engine.advance import MAX_STEPS, advance
from threadline.engine.state import CallResult, Outcome, Resume, RunState, Start
from threadline.flows.definition import FlowDefinition, validate_definition

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def state(**variables: Any) -> RunState:
    return RunState(
        node_id="",
        phone_number="+15550001111",
        variables=dict(variables),
        context={"source": "test"},
        system={"phone_number": "+15550001111"},
    )


def define(raw: dict[str, Any]) -> FlowDefinition:
    return validate_definition(raw)


def texts(outcome: Outcome) -> list[str]:
    return [send.payload["text"]["body"] for send in outcome.sends]


def kinds(outcome: Outcome) -> list[str]:
    return [event.kind for event in outcome.events]


ASK = define(
    chain(
        node("start", "start"),
        node("hello", "send_text", message="Hi {{vars.name}} from {{context.source}}"),
        node("wait", "wait_for_response", timeout_seconds=60, save_response_to="answer"),
        node("bye", "send_text", message="Got {{vars.answer}} / {{last_user_input}}"),
    )
)


def test_start_runs_to_the_first_wait() -> None:
    run = state(name="Ada")
    outcome = advance(ASK, run, Start(), NOW)
    assert outcome.status == "waiting"
    assert outcome.wait_reason == "user_input"
    assert outcome.wait_seconds == 60
    assert run.node_id == "wait"
    assert texts(outcome) == ["Hi Ada from test"]
    assert kinds(outcome) == [
        "step_entered",
        "step_left",
        "step_entered",
        "message_queued",
        "step_left",
        "step_entered",
    ]


def test_resume_saves_the_answer_and_ends() -> None:
    run = state(name="Ada")
    advance(ASK, run, Start(), NOW)
    outcome = advance(ASK, run, Resume(reason="api", input="42"), NOW + timedelta(seconds=3))
    assert outcome.status == "ended"
    assert run.variables["answer"] == "42"
    assert run.system["last_resume"] == {"reason": "api"}
    assert texts(outcome) == ["Got 42 / 42"]
    left = next(e for e in outcome.events if e.kind == "step_left" and e.node_id == "wait")
    assert left.duration_ms == 3000


def test_structured_message_is_saved_when_there_is_no_text() -> None:
    run = state()
    advance(ASK, run, Start(), NOW)
    advance(ASK, run, Resume(reason="api", message={"button_id": "yes"}), NOW)
    assert run.variables["answer"] == {"button_id": "yes"}


TIMEOUT = define(
    {
        "nodes": [
            node("start", "start"),
            node("wait", "wait_for_response", timeout_seconds=10),
            node("late", "send_text", message="Too late"),
            node("ok", "send_text", message="Thanks"),
        ],
        "edges": [edge("start", "wait"), edge("wait", "ok"), edge("wait", "late", "timeout")],
    }
)


@pytest.mark.parametrize(("reason", "expected"), [("timeout", "Too late"), ("api", "Thanks")])
def test_timeout_takes_the_timeout_edge(reason: str, expected: str) -> None:
    run = state()
    advance(TIMEOUT, run, Start(), NOW)
    outcome = advance(TIMEOUT, run, Resume(reason=reason), NOW)  # type: ignore[arg-type]
    assert texts(outcome) == [expected]
    assert run.system["last_resume"] == {"reason": reason}


def test_timeout_without_a_timeout_edge_goes_next() -> None:
    run = state()
    advance(ASK, run, Start(), NOW)
    outcome = advance(ASK, run, Resume(reason="timeout"), NOW)
    assert outcome.status == "ended"
    assert "answer" not in run.variables


HANDOFF = define(
    chain(
        node("start", "start"),
        node("human", "handoff"),
        node("after", "send_text", message="Back to the bot"),
    )
)


def test_handoff_waits_for_an_api_resume_only() -> None:
    run = state()
    assert advance(HANDOFF, run, Start(), NOW).wait_reason == "handoff"
    still = advance(HANDOFF, run, Resume(reason="user_input", input="hello?"), NOW)
    assert (still.status, still.wait_reason, still.sends) == ("waiting", "handoff", [])
    moved = advance(HANDOFF, run, Resume(reason="api"), NOW)
    assert (moved.status, texts(moved)) == ("ended", ["Back to the bot"])


def test_set_variable_interpolates_and_keeps_types() -> None:
    flow = define(
        chain(
            node("start", "start"),
            node(
                "set",
                "set_variable",
                variables={"greeting": "Hi {{vars.name}}", "items": "{{vars.cart}}"},
            ),
            node("say", "send_text", message="{{vars.greeting}}: {{vars.items}}"),
        )
    )
    run = state(name="Ada", cart=[1, 2])
    outcome = advance(flow, run, Start(), NOW)
    assert run.variables["items"] == [1, 2]
    assert texts(outcome) == ["Hi Ada: [1,2]"]


WEBHOOK = define(
    {
        "nodes": [
            node("start", "start"),
            node(
                "hook",
                "webhook",
                url="https://api.example/{{vars.id}}",
                method="POST",
                headers={"X-Id": "{{vars.id}}"},
                body={"id": "{{vars.id}}"},
                save_response_to="order",
            ),
            node("ok", "send_text", message="Status {{vars.order.status}}"),
            node("oops", "send_text", message="Sorry"),
        ],
        "edges": [edge("start", "hook"), edge("hook", "ok"), edge("hook", "oops", "error")],
    }
)


def test_webhook_parks_with_a_rendered_request() -> None:
    run = state(id=7)
    outcome = advance(WEBHOOK, run, Start(), NOW)
    assert (outcome.status, outcome.wait_reason) == ("running", "call")
    assert outcome.call is not None
    assert outcome.call.request["url"] == "https://api.example/7"
    assert outcome.call.request["headers"] == {"X-Id": "7"}
    assert outcome.call.request["body"] == {"id": 7}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (CallResult(ok=True, status_code=200, body={"status": "shipped"}), ["Status shipped"]),
        (CallResult(ok=False, status_code=404, error="HTTP 404"), ["Sorry"]),
    ],
)
def test_webhook_result_picks_the_edge(result: CallResult, expected: list[str]) -> None:
    run = state(id=7)
    advance(WEBHOOK, run, Start(), NOW)
    assert texts(advance(WEBHOOK, run, result, NOW)) == expected


def test_failed_call_without_error_edge_fails_the_execution() -> None:
    flow = define(chain(node("start", "start"), node("fn", "function", function_id="fn_1")))
    run = state()
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, CallResult(ok=False, error="HTTP 500"), NOW)
    assert outcome.status == "failed"
    assert outcome.error is not None and "HTTP 500" in outcome.error["message"]
    assert kinds(outcome)[-1] == "error"


DECIDE = define(
    {
        "nodes": [
            node("start", "start"),
            node(
                "route",
                "decide",
                decision_type="function",
                function_id="router",
                conditions=[{"label": "vip"}, {"label": "regular"}],
            ),
            node("vip", "send_text", message="Welcome back, {{vars.tier}}"),
            node("regular", "send_text", message="Hello"),
        ],
        "edges": [
            edge("start", "route"),
            edge("route", "vip", "vip"),
            edge("route", "regular", "regular"),
        ],
    }
)


def test_decide_asks_with_its_edges_and_follows_the_answer() -> None:
    run = state()
    parked = advance(DECIDE, run, Start(), NOW)
    assert parked.call is not None
    assert parked.call.request == {"function_id": "router", "available_edges": ["vip", "regular"]}
    answer = CallResult(
        ok=True, status_code=200, body={"next_edge": "vip", "vars": {"tier": "gold"}}
    )
    assert texts(advance(DECIDE, run, answer, NOW)) == ["Welcome back, gold"]


def test_decide_with_an_unknown_edge_fails() -> None:
    run = state()
    advance(DECIDE, run, Start(), NOW)
    outcome = advance(DECIDE, run, CallResult(ok=True, body={"next_edge": "nope"}), NOW)
    assert outcome.status == "failed"


def _ai_decide(*, error_edge: bool) -> FlowDefinition:
    edges = [
        edge("start", "route"),
        edge("route", "vip", "vip"),
        edge("route", "regular", "regular"),
    ]
    return define(
        {
            "nodes": [
                node("start", "start"),
                node(
                    "route",
                    "decide",
                    provider_model_name="router-model",
                    llm_temperature=0.2,
                    conditions=[
                        {"label": "vip", "description": "a returning gold customer"},
                        {"label": "regular", "description": "anyone else"},
                    ],
                ),
                node("vip", "send_text", message="Welcome back"),
                node("regular", "send_text", message="Hello"),
                *(
                    [node("sorry", "send_text", message="Let me get a person")]
                    if error_edge
                    else []
                ),
            ],
            "edges": [*edges, edge("route", "sorry", "error")] if error_edge else edges,
        }
    )


def test_ai_decide_asks_the_model_with_the_conditions_and_follows_its_label() -> None:
    flow, run = _ai_decide(error_edge=False), state(tier="gold")
    run.system["last_user_input"] = "it's me again"
    parked = advance(flow, run, Start(), NOW)
    assert parked.call is not None and parked.call.kind == "ai_decide"
    assert parked.call.request == {
        "provider_model_name": "router-model",
        "conditions": [
            {"label": "vip", "description": "a returning gold customer"},
            {"label": "regular", "description": "anyone else"},
        ],
        "temperature": 0.2,
        "max_tokens": 10_000,
        "last_user_input": "it's me again",
        "variables": {"tier": "gold"},
    }
    outcome = advance(flow, run, CallResult(ok=True, body={"label": "vip"}), NOW)
    assert texts(outcome) == ["Welcome back"]


@pytest.mark.parametrize("answer", [{"label": "gold"}, {"label": None}, "vip", {}])
def test_ai_decide_naming_no_condition_takes_the_error_edge(answer: object) -> None:
    flow, run = _ai_decide(error_edge=True), state()
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, CallResult(ok=True, body=answer), NOW)
    assert texts(outcome) == ["Let me get a person"]
    assert "not one of ['vip', 'regular']" in run.system["last_error"]


def test_ai_decide_failing_without_an_error_edge_fails_the_execution() -> None:
    flow, run = _ai_decide(error_edge=False), state()
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, CallResult(ok=False, error="model not configured"), NOW)
    assert outcome.status == "failed"
    assert outcome.error is not None and "model not configured" in outcome.error["message"]


def test_interpolation_that_breaks_a_limit_fails_cleanly() -> None:
    flow = define(chain(node("start", "start"), node("say", "send_text", message="{{vars.big}}")))
    outcome = advance(flow, state(big="x" * 5000), Start(), NOW)
    assert outcome.status == "failed"
    assert outcome.sends == []


def test_a_loop_without_a_wait_is_stopped() -> None:
    flow = define(
        {
            "nodes": [
                node("start", "start"),
                node("a", "set_variable", variables={"n": 1}),
                node("b", "set_variable", variables={"n": 2}),
            ],
            "edges": [edge("start", "a"), edge("a", "b"), edge("b", "a")],
        }
    )
    outcome = advance(flow, state(), Start(), NOW)
    assert outcome.status == "failed"
    assert str(MAX_STEPS) in outcome.error["message"]  # type: ignore[index]


def test_buttons_and_templates_become_graph_payloads() -> None:
    flow = define(
        chain(
            node("start", "start"),
            node(
                "menu",
                "send_interactive",
                interactive_type="button",
                body_text="Pick, {{vars.name}}",
                buttons=[{"id": "a", "title": "Apples"}, {"id": "b", "title": "Pears"}],
            ),
            node(
                "tpl",
                "send_template",
                template_name="order_update",
                language="en_US",
                parameters=["{{vars.name}}", "{{vars.order}}"],
            ),
        )
    )
    outcome = advance(flow, state(name="Ada", order=42), Start(), NOW)
    menu, template = (send.payload for send in outcome.sends)
    assert menu["type"] == "interactive"
    assert menu["interactive"]["body"]["text"] == "Pick, Ada"
    assert [b["reply"]["id"] for b in menu["interactive"]["action"]["buttons"]] == ["a", "b"]
    assert template["template"]["name"] == "order_update"
    params = template["template"]["components"][0]["parameters"]
    assert [p["text"] for p in params] == ["Ada", "42"]


MENU = define(
    {
        "nodes": [
            node("start", "start"),
            node(
                "menu",
                "send_interactive",
                interactive_type="button",
                body_text="Need help?",
                buttons=[
                    {"id": "support", "title": "Get Support"},
                    {"id": "billing", "title": "Billing"},
                ],
            ),
            node("support", "send_text", message="Support here"),
            node("billing", "send_text", message="Billing here"),
        ],
        "edges": [
            edge("start", "menu"),
            edge("menu", "support", "support"),
            edge("menu", "billing", "billing"),
        ],
    }
)


@pytest.mark.parametrize(
    "reply",
    [
        Resume(reason="api", message={"button_id": "billing"}),
        Resume(
            reason="user_input", message={"button_reply": {"id": "billing", "title": "Billing"}}
        ),
        Resume(reason="api", input="billing"),
        Resume(reason="api", input="  BILLING "),
    ],
)
def test_interactive_routing_waits_then_follows_the_choice(reply: Resume) -> None:
    run = state()
    parked = advance(MENU, run, Start(), NOW)
    assert (parked.status, parked.wait_reason, run.node_id) == ("waiting", "user_input", "menu")
    assert texts(advance(MENU, run, reply, NOW)) == ["Billing here"]


def test_interactive_routing_keeps_waiting_on_an_unknown_reply() -> None:
    run = state()
    advance(MENU, run, Start(), NOW)
    outcome = advance(MENU, run, Resume(reason="api", input="pizza"), NOW)
    assert (outcome.status, run.node_id, outcome.sends) == ("waiting", "menu", [])
    assert kinds(outcome)[-1] == "reply_unmatched"


def test_interactive_without_option_edges_does_not_wait() -> None:
    flow = define(
        chain(
            node("start", "start"),
            node("menu", "send_interactive", body_text="Pick", buttons=[{"id": "a", "title": "A"}]),
            node("wait", "wait_for_response"),
        )
    )
    run = state()
    assert advance(flow, run, Start(), NOW).status == "waiting"
    assert run.node_id == "wait"


def test_option_edges_must_name_a_button() -> None:
    from threadline.flows.definition import DefinitionInvalid

    raw = {
        "nodes": MENU_NODES,
        "edges": [
            edge("start", "menu"),
            edge("menu", "support", "nope"),
            edge("menu", "billing", "billing"),
        ],
    }
    with pytest.raises(DefinitionInvalid) as caught:
        validate_definition(raw)
    problems = caught.value.problems
    assert [(p.node_id, p.field) for p in problems] == [("menu", "edges[1].label")]
    assert "'nope'" in problems[0].message and "support" in problems[0].message


MENU_NODES = [
    node("start", "start"),
    node(
        "menu",
        "send_interactive",
        body_text="Need help?",
        buttons=[{"id": "support", "title": "Get Support"}, {"id": "billing", "title": "Billing"}],
    ),
    node("support", "send_text", message="Support here"),
    node("billing", "send_text", message="Billing here"),
]
