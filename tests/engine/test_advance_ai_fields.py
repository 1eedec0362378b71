"""Send nodes with AI fields in the pure interpreter: the call they park on, and what they
send (or why they fail) once the model answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from builders import AI_FIELD, ai_fields, chain, node
from threadline.engine.advance import advance
from threadline.engine.nodes.ai_fields import VALUE_CHARS_SHOWN
from threadline.engine.state import CallResult, RunState, Start
from threadline.flows.definition import FlowDefinition, validate_definition

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _state(**variables: Any) -> RunState:
    return RunState("", "+15550001111", dict(variables), {}, {"last_user_input": "where is it?"})


def _menu() -> FlowDefinition:
    menu = node(
        "menu",
        "send_interactive",
        body_text=AI_FIELD,
        footer_text=AI_FIELD,
        buttons=[{"id": "a", "title": "{{vars.choice}}"}],
        **ai_fields("m", {"body_text": "Ask", "footer_text": "Sign off"}),
    )
    return validate_definition(chain(node("start", "start"), menu))


def _answer(values: dict[str, Any], **extra: Any) -> CallResult:
    return CallResult(ok=True, body={"values": values, "model": "m", **extra})


def test_a_node_with_ai_fields_parks_on_one_call_for_all_of_them() -> None:
    run = _state(choice="A", big="x" * 2000)
    parked = advance(_menu(), run, Start(), NOW)
    assert parked.sends == [] and parked.call is not None
    assert parked.call.kind == "ai_fields"
    request = parked.call.request
    assert request["fields"] == [
        {"path": "body_text", "prompt": "Ask", "max_length": 1024},
        {"path": "footer_text", "prompt": "Sign off", "max_length": 60},
    ]
    assert request["provider_model_name"] == "m"
    assert request["last_user_input"] == "where is it?"
    assert request["variables"]["choice"] == "A"
    assert len(request["variables"]["big"]) == VALUE_CHARS_SHOWN + 1  # clipped, with "…"


def test_the_written_values_are_sent_as_they_are_beside_the_rendered_fields() -> None:
    flow, run = _menu(), _state(choice="Yes")
    advance(flow, run, Start(), NOW)
    written = {"body_text": "Ready {{vars.choice}}?", "footer_text": "Bye"}
    outcome = advance(flow, run, _answer(written), NOW)
    assert outcome.status == "ended"
    [send] = outcome.sends
    interactive = send.payload["interactive"]
    assert interactive["body"]["text"] == "Ready {{vars.choice}}?"
    assert interactive["footer"]["text"] == "Bye"
    assert interactive["action"]["buttons"][0]["reply"]["title"] == "Yes"
    [logged] = [e.data for e in outcome.events if e.kind == "ai_fields_written"]
    assert logged == {"model": "m", "fields": written}


def test_a_field_left_unwritten_fails_the_execution_and_sends_nothing() -> None:
    flow, run = _menu(), _state(choice="A")
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, _answer({"body_text": "Hi", "footer_text": "  "}), NOW)
    assert outcome.status == "failed" and outcome.sends == []
    assert outcome.error is not None
    assert "did not write the AI fields footer_text" in outcome.error["message"]
    assert outcome.error["model"] == "m"


def test_a_failed_call_fails_the_execution_with_its_reason() -> None:
    flow, run = _menu(), _state(choice="A")
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, CallResult(ok=False, error="Model 'm' is not configured"), NOW)
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error["message"] == (
        "node 'menu' could not have its AI fields written: Model 'm' is not configured"
    )


def test_a_written_value_over_whatsapps_limit_fails_cleanly() -> None:
    flow, run = _menu(), _state(choice="A")
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, _answer({"body_text": "Hi", "footer_text": "f" * 61}), NOW)
    assert outcome.status == "failed" and outcome.sends == []
    assert outcome.error is not None and "WhatsApp would refuse" in outcome.error["message"]


def test_nested_template_parameters_are_filled_by_path() -> None:
    parameters = {"1": "{{vars.name}}", "2": AI_FIELD}
    template = node(
        "t",
        "send_template",
        template_id="order",
        parameters=parameters,
        **ai_fields("m", {"parameters.2": "the day"}),
    )
    flow, run = validate_definition(chain(node("start", "start"), template)), _state(name="Ana")
    advance(flow, run, Start(), NOW)
    outcome = advance(flow, run, _answer({"parameters.2": "Friday"}), NOW)
    [send] = outcome.sends
    [component] = send.payload["template"]["components"]
    texts = [p["text"] for p in component["parameters"]]
    assert texts == ["Ana", "Friday"]


def test_a_marker_a_variable_brings_is_a_value_not_an_ai_field() -> None:
    template = node("t", "send_template", template_id="order", parameters=["{{vars.x}}"])
    flow = validate_definition(chain(node("start", "start"), template))
    outcome = advance(flow, _state(x={"$ai": {}}), Start(), NOW)
    assert outcome.call is None and outcome.status == "ended"
    [send] = outcome.sends
    [component] = send.payload["template"]["components"]
    assert component["parameters"] == [{"type": "text", "text": "{'$ai': {}}"}]
