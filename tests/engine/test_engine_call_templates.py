"""Rendering a call: each value encoded for where it lands, never changing the shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from builders import chain, edge, node
from threadline.engine.advance import advance
from threadline.engine.state import RunState, Start
from threadline.engine.template import UnsafeValue, render_body, render_header, render_url
from threadline.flows.definition import validate_definition

SCOPE: dict[str, Any] = {"vars": {}}


def scope(**variables: Any) -> dict[str, Any]:
    return {"vars": variables}


def test_the_issue_examples_keep_the_host_the_parameters_and_the_path() -> None:
    url = render_url(
        "https://api.example.com/o/{{vars.id}}?q={{vars.q}}#{{vars.f}}",
        scope(id="../../admin", q="x&admin=true", f="a#b"),
    )
    parts = urlsplit(url)
    assert parts.hostname == "api.example.com"
    assert parts.path == "/o/..%2F..%2Fadmin"
    assert parse_qs(parts.query) == {"q": ["x&admin=true"]}
    assert parts.fragment == "a%23b"


@pytest.mark.parametrize(
    "template",
    [
        "https://api.example.com{{vars.x}}",
        "https://{{vars.host}}/",
        "https://user:{{vars.pw}}@api.example.com/",
        "http://api.example.com:{{vars.port}}/",
        "{{vars.url}}",
        "ftp://api.example.com/",
    ],
)
def test_the_scheme_and_authority_never_come_from_a_variable(template: str) -> None:
    with pytest.raises(UnsafeValue, match="host"):
        render_url(template, scope(x="@169.254.169.254/latest/meta-data/#", host="h"))


@pytest.mark.parametrize("value", [".", ".."])
def test_a_dot_segment_from_a_variable_is_refused(value: str) -> None:
    with pytest.raises(UnsafeValue, match="cannot be"):
        render_url("https://h.example/a/{{vars.v}}/b", scope(v=value))


def test_literal_text_and_partial_segments_are_kept() -> None:
    url = render_url("https://h.example/a/v{{vars.v}}.json?x=1&y={{vars.y}}", scope(v="..", y=2))
    assert url == "https://h.example/a/v...json?x=1&y=2"


def test_a_header_value_refuses_line_breaks_control_characters_and_non_ascii() -> None:
    assert render_header("X-Id", "id-{{vars.v}}", scope(v=7)) == "id-7"
    for value, reason in (("a\r\nB: 1", "line break"), ("a\x00", "control"), ("José", "ASCII")):
        with pytest.raises(UnsafeValue, match=reason):
            render_header("X-Name", "{{vars.v}}", scope(v=value))


def test_a_json_body_is_rendered_structurally() -> None:
    sneaky = 'x", "admin": true, "y": "'
    rendered = render_body(
        '{"a": "{{vars.s}}", "n": "{{vars.n}}", "t": "n={{vars.n}}"}', scope(s=sneaky, n=3)
    )
    assert rendered == {"a": sneaky, "n": 3, "t": "n=3"}
    assert render_body({"list": "{{vars.l}}"}, scope(l=[1, 2])) == {"list": [1, 2]}
    assert render_body("plain {{vars.s}}", scope(s="text")) == "plain text"
    with pytest.raises(UnsafeValue, match="not valid JSON"):
        render_body('{"n": {{vars.n}}}', scope(n=1))


def test_a_form_body_encodes_its_values() -> None:
    form = "application/x-www-form-urlencoded; charset=utf-8"
    rendered = render_body("a={{vars.a}}&b=2", scope(a="1&admin=true"), content_type=form)
    assert parse_qs(rendered) == {"a": ["1&admin=true"], "b": ["2"]}
    assert render_body("a={{vars.a}}", scope(a="1&x"), content_type="text/plain") == "a=1&x"


def test_a_stored_webhook_with_a_host_placeholder_takes_the_error_edge_at_run_time() -> None:
    """A definition saved before the rule (stored versions are not re-validated)."""
    raw = chain(
        node("start", "start"),
        node("call", "webhook", url="https://api.example.com/"),
        node("ok", "send_text", message="ok"),
    )
    raw["nodes"].append(node("sorry", "send_text", message="sorry"))
    raw["edges"].append(edge("call", "sorry", "error"))
    definition = validate_definition(raw)
    call = definition.node("call")
    bad = call.config.model_copy(update={"url": "https://api.example.com{{vars.x}}"})
    object.__setattr__(call, "config", bad)
    run = RunState("", "+15550001111", {"x": "@169.254.169.254/"}, {}, {})
    outcome = advance(definition, run, Start(), datetime(2026, 1, 1, tzinfo=UTC))
    assert outcome.call is None
    assert [s.payload["text"]["body"] for s in outcome.sends] == ["sorry"]
    refused = [e for e in outcome.events if e.kind == "call_refused"]
    assert refused and "host" in str(refused[0].data)
