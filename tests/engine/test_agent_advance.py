"""The agent interpreter as a pure function: graph, state and input in; decision out."""

from __future__ import annotations

from datetime import UTC, datetime

from agent_views import PHONE, call, graph, new_state, reply, support_graph
from threadline.engine.agent.advance import advance_agent
from threadline.engine.agent.codec import dump_state, load_state
from threadline.engine.agent.graph import (
    END,
    START,
    AgentGraph,
    AgentNode,
    ExternalTool,
    TemplateOption,
)
from threadline.engine.agent.prompts import OPENING, build_request
from threadline.engine.agent.state import (
    AgentOutcome,
    AgentStart,
    AgentState,
    HandoffReleased,
    ModelAnswered,
    ModelFailed,
    TimerFired,
    ToolFinished,
    UserMessage,
)
from threadline.llm.types import ToolCall, ToolSpec

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def texts(outcome: AgentOutcome) -> list[str]:
    return [s.payload["text"]["body"] for s in outcome.sends if s.payload["type"] == "text"]


def kinds(outcome: AgentOutcome) -> list[str]:
    return [event.kind for event in outcome.events]


def last_tool_result(state: AgentState) -> str:
    results = [m for m in state.history if m.role == "tool"]
    return results[-1].content


def started(g: AgentGraph | None = None, text: str = "hi") -> tuple[AgentState, AgentOutcome]:
    state = new_state()
    outcome = advance_agent(g or support_graph(), state, AgentStart(text=text), NOW)
    return state, outcome


def test_a_start_enters_the_first_node_and_asks_the_model() -> None:
    state, outcome = started()
    assert outcome.status == "running" and outcome.call_model and outcome.sends == []
    assert state.node == "greet" and [m.role for m in state.history] == ["user"]
    assert kinds(outcome) == ["step_entered"]


def test_the_step_prompt_names_the_node_its_next_nodes_and_the_globals() -> None:
    state, _ = started()
    request = build_request(support_graph(), state, NOW)
    assert "<current_node>greet</current_node>" in request.system
    assert "Greet the user" in request.system and "Be brief." in request.system
    assert "- orders: move here when the user asks about an order" in request.system
    assert "- human: move here when the user asks for a person" in request.system
    assert f"phone_number: {PHONE}" in request.system
    names = [tool.name for tool in request.tools]
    assert {"send_notification_to_user", "AskUserForInput", "MoveToNextNode"} <= set(names)
    assert [m.content for m in request.messages] == ["hi"]


def test_an_agent_that_speaks_first_is_shown_an_opening_user_turn_not_kept() -> None:
    state = new_state()
    advance_agent(support_graph(), state, AgentStart(text=None), NOW)
    request = build_request(support_graph(), state, NOW)
    assert [(m.role, m.content) for m in request.messages] == [("user", OPENING)]
    assert state.history == [] and state.conversation == []


def test_a_question_is_sent_and_the_reply_answers_it() -> None:
    g = support_graph()
    state, _ = started(g)
    ask = call("AskUserForInput", message="What is your order number?")
    hello = call("send_notification_to_user", message="Hello Ana!")
    outcome = advance_agent(g, state, ModelAnswered(reply(hello, ask)), NOW)
    assert texts(outcome) == ["Hello Ana!", "What is your order number?"]
    assert outcome.status == "paused" and not outcome.call_model
    assert state.waiting_on == ask.id and outcome.sends[0].payload["to"] == PHONE

    resumed = advance_agent(g, state, UserMessage("4411"), NOW)
    assert resumed.status == "running" and resumed.call_model
    answer = state.history[-1]
    assert (answer.role, answer.tool_call_id, answer.content) == ("tool", ask.id, "4411")
    assert state.waiting_on is None and state.conversation[-1] == {
        "role": "user",
        "content": "4411",
    }


def test_moving_to_a_connected_node_changes_the_step() -> None:
    g = support_graph()
    state, _ = started(g)
    move = call("MoveToNextNode", next_node="orders", reason="order question")
    outcome = advance_agent(g, state, ModelAnswered(reply(move)), NOW)
    assert state.node == "orders" and outcome.call_model
    assert last_tool_result(state) == "Moved to orders"
    assert kinds(outcome)[-1] == "step_entered"


def test_an_unknown_next_node_is_a_tool_error_the_model_reads() -> None:
    g = support_graph()
    state, _ = started(g)
    outcome = advance_agent(
        g, state, ModelAnswered(reply(call("MoveToNextNode", next_node="billing"))), NOW
    )
    assert state.node == "greet" and outcome.call_model
    assert "NOT_FOUND" in last_tool_result(state) and "orders, human" in last_tool_result(state)


def test_a_global_handoff_parks_in_handoff_and_a_release_ends() -> None:
    g = support_graph()
    state, _ = started(g)
    move = call("MoveToNextNode", next_node="human", reason="wants a person")
    outcome = advance_agent(g, state, ModelAnswered(reply(move)), NOW)
    assert outcome.status == "handoff" and not outcome.call_model
    assert state.handoff_reason == "wants a person" and state.returns_to == "greet"
    assert kinds(outcome)[-2:] == ["step_entered", "handoff"]
    released = advance_agent(g, state, HandoffReleased(), NOW)
    assert released.status == "ended"


def test_reaching_the_end_ends() -> None:
    g = support_graph()
    state, _ = started(g)
    advance_agent(g, state, ModelAnswered(reply(call("MoveToNextNode", next_node="orders"))), NOW)
    outcome = advance_agent(
        g, state, ModelAnswered(reply(call("MoveToNextNode", next_node="end"))), NOW
    )
    assert outcome.status == "ended" and state.node == END


def test_calls_after_a_question_are_answered_not_run() -> None:
    g = support_graph()
    state, _ = started(g)
    ask = call("AskUserForInput", message="Which one?")
    later = call("send_notification_to_user", message="never")
    outcome = advance_agent(g, state, ModelAnswered(reply(ask, later)), NOW)
    assert texts(outcome) == ["Which one?"] and outcome.status == "paused"
    skipped = state.history[-1]
    assert skipped.tool_call_id == later.id and skipped.is_error and "not run" in skipped.content


def test_malformed_arguments_and_unknown_tools_are_fed_back() -> None:
    g = support_graph()
    state, _ = started(g)
    broken = ToolCall(
        id="c1", name="send_notification_to_user", raw_arguments="{oops", arguments_error="not JSON"
    )
    outcome = advance_agent(g, state, ModelAnswered(reply(broken, call("launch_rocket"))), NOW)
    assert outcome.call_model and outcome.sends == []
    errors = [m.content for m in state.history if m.role == "tool"]
    assert errors[0] == "Error: invalid arguments: not JSON"
    assert errors[1].startswith("Error: unknown tool 'launch_rocket'; the tools here are:")
    assert kinds(outcome).count("tool_refused") == 2


def test_a_text_only_answer_is_sent_and_waits() -> None:
    g = support_graph()
    state, _ = started(g)
    outcome = advance_agent(g, state, ModelAnswered(reply(text="Hi! How can I help?")), NOW)
    assert texts(outcome) == ["Hi! How can I help?"] and outcome.status == "paused"
    (sent,) = outcome.sends  # a whole Graph body, as the outbox sends it
    assert (sent.payload["messaging_product"], sent.payload["to"]) == ("whatsapp", PHONE)


def test_an_empty_answer_asks_again_and_the_turn_limit_ends_the_asking() -> None:
    g = support_graph(max_model_calls_per_turn=3)
    state, _ = started(g)
    before = len(state.history)
    again = advance_agent(g, state, ModelAnswered(reply()), NOW)
    assert again.status == "running" and again.call_model and again.sends == []
    assert len(state.history) == before  # an empty turn is not kept: providers refuse it
    assert "model_answered_empty" in kinds(again)
    advance_agent(g, state, ModelAnswered(reply()), NOW)
    last = advance_agent(g, state, ModelAnswered(reply()), NOW)
    assert last.status == "failed" and last.error is not None
    assert "3 times" in last.error["message"]


def test_version_1_reasoning_beside_tool_calls_is_not_sent_version_2_text_is() -> None:
    for version, sent in ((1, []), (2, ["Let me check."])):
        g = support_graph(version=version)
        state, _ = started(g)
        wait = call("WaitForUser") if version == 2 else call("EnterIdleState")
        outcome = advance_agent(g, state, ModelAnswered(reply(wait, text="Let me check.")), NOW)
        assert texts(outcome) == sent and outcome.status == "paused"


def test_too_many_model_calls_in_one_turn_fail_cleanly() -> None:
    g = support_graph(max_model_calls_per_turn=3)
    state, outcome = started(g)
    for _ in range(3):
        outcome = advance_agent(g, state, ModelAnswered(reply(call("get_execution_metadata"))), NOW)
    assert outcome.status == "failed" and not outcome.call_model
    assert outcome.error is not None and "3 times" in outcome.error["message"]


def test_the_user_writing_starts_a_new_turn() -> None:
    g = support_graph(max_model_calls_per_turn=2)
    state, _ = started(g)
    advance_agent(g, state, ModelAnswered(reply(call("get_execution_metadata"))), NOW)
    advance_agent(g, state, ModelAnswered(reply(call("EnterIdleState"))), NOW)
    outcome = advance_agent(g, state, UserMessage("more"), NOW)
    assert outcome.call_model and state.model_calls_in_turn == 0


def test_an_external_tool_runs_as_a_job_and_its_result_goes_back_to_the_model() -> None:
    lookup = ExternalTool(
        "webhook",
        ToolSpec("get_order_request", "Look up", {"type": "object"}),
        {"url": "https://x"},
    )
    g = graph(AgentNode("helper", type="SubagentNode", tools=(lookup,)), edges=[(START, "helper")])
    state, _ = started(g)
    asked = call("get_order_request", order_id="4411")
    outcome = advance_agent(g, state, ModelAnswered(reply(asked)), NOW)
    assert outcome.status == "running" and not outcome.call_model and outcome.tool is not None
    assert (outcome.tool.call_id, outcome.tool.kind, outcome.tool.arguments) == (
        asked.id,
        "webhook",
        {"order_id": "4411"},
    )
    assert outcome.tool.config == {"url": "https://x"} and state.pending == [asked]

    done = advance_agent(
        g, state, ToolFinished(asked.id, {"status": "shipped"}, duration_ms=12), NOW
    )
    assert done.call_model and state.pending == []
    assert last_tool_result(state) == '{"status": "shipped"}'
    assert done.events[0].kind == "tool_finished" and done.events[0].duration_ms == 12


def test_a_failed_tool_is_an_error_result_and_a_stale_result_is_ignored() -> None:
    lookup = ExternalTool("mcp", ToolSpec("docs__search", "Search", {"type": "object"}))
    g = graph(AgentNode("helper", type="SubagentNode", tools=(lookup,)), edges=[(START, "helper")])
    state, _ = started(g)
    asked = call("docs__search", q="x")
    advance_agent(g, state, ModelAnswered(reply(asked)), NOW)
    stale = advance_agent(g, state, ToolFinished("someone-else", "x"), NOW)
    assert not stale.call_model and state.pending == [asked]
    failed = advance_agent(g, state, ToolFinished(asked.id, error="server down"), NOW)
    assert failed.call_model and last_tool_result(state) == "Error: server down"
    assert state.history[-1].is_error


def test_a_warm_end_waits_its_minutes_then_ends() -> None:
    g = graph(
        AgentNode("bye", type="WarmEndNode", prompt="Say bye", warm_end_minutes=30),
        edges=[(START, "bye"), ("bye", END)],
    )
    state, _ = started(g)
    outcome = advance_agent(
        g, state, ModelAnswered(reply(call("EnterIdleState", message="Bye!"))), NOW
    )
    assert outcome.status == "paused" and outcome.wait_minutes == 30 and texts(outcome) == ["Bye!"]
    # The idle call is answered by the user's message, if any comes: none did.
    state.waiting_on = None
    assert advance_agent(g, state, TimerFired(), NOW).status == "ended"


def test_a_model_failure_fails_the_execution_with_the_reason() -> None:
    g = support_graph()
    state, _ = started(g)
    outcome = advance_agent(g, state, ModelFailed("429 after 3 tries"), NOW)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"] == "the model call failed: 429 after 3 tries"


def test_media_and_templates_become_outbox_sends() -> None:
    promo = TemplateOption(
        "promo_v1", phone_number="{{phone}}", parameters={"1": "x"}, wait_for_response=True
    )
    g = graph(
        AgentNode("helper", type="SubagentNode", templates=(promo,)), edges=[(START, "helper")]
    )
    state, _ = started(g)
    media = call(
        "send_media_message", media_url="https://x/a.png", media_type="image", caption="Look"
    )
    template = call(
        "SendWhatsappTemplateMessage", template_name="promo_v1", phone_number="+19990000000"
    )
    outcome = advance_agent(g, state, ModelAnswered(reply(media, template)), NOW)
    image, sent = (s.payload for s in outcome.sends)
    assert image["image"] == {"link": "https://x/a.png", "caption": "Look"}
    # The model cannot choose the recipient: the contact gets it.
    assert sent["to"] == PHONE and sent["template"]["name"] == "promo_v1"
    assert sent["template"]["components"][0]["parameters"] == [{"type": "text", "text": "x"}]
    assert outcome.status == "paused" and state.waiting_on == template.id


def test_a_bad_media_type_is_a_tool_error() -> None:
    g = support_graph()
    state, _ = started(g)
    outcome = advance_agent(
        g,
        state,
        ModelAnswered(
            reply(call("send_media_message", media_url="https://x", media_type="hologram"))
        ),
        NOW,
    )
    assert outcome.sends == [] and "not a media type" in last_tool_result(state)


def test_inside_a_global_node_the_way_back_is_offered() -> None:
    faq = AgentNode("faq", is_global=True, global_condition="a general question", prompt="Answer")
    g = graph(AgentNode("greet"), faq, edges=[(START, "greet")])
    state, _ = started(g)
    advance_agent(g, state, ModelAnswered(reply(call("MoveToNextNode", next_node="faq"))), NOW)
    assert state.returns_to == "greet"
    assert (
        "- greet: move here when return to where the conversation was"
        in build_request(g, state, NOW).system
    )
    advance_agent(g, state, ModelAnswered(reply(call("MoveToNextNode", next_node="greet"))), NOW)
    assert state.node == "greet" and state.returns_to is None


def test_the_state_survives_its_json() -> None:
    g = support_graph()
    state, _ = started(g)
    broken = ToolCall(id="c9", name="x", raw_arguments="{", arguments_error="bad")
    advance_agent(
        g, state, ModelAnswered(reply(broken, call("AskUserForInput", message="Number?"))), NOW
    )
    assert load_state(dump_state(state)) == state


def test_a_graph_without_a_start_edge_ends_at_once() -> None:
    g = graph(AgentNode("lonely"), edges=[])
    state = new_state()
    outcome = advance_agent(g, state, AgentStart(text="hi"), NOW)
    assert outcome.status == "ended" and state.node == END and state.node != START
