"""Payload builders: exact wire shapes and fail-fast limits."""

from __future__ import annotations

from typing import Any

import pytest

from threadline.whatsapp import (
    ListRow,
    ListSection,
    SendResult,
    button_message,
    list_message,
    read_receipt,
    template_message,
    text_message,
)

TO = "+15550100001"
BASE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}


def test_text_message() -> None:
    assert text_message(TO, "Hello", preview_url=True) == BASE | {
        "type": "text",
        "text": {"preview_url": True, "body": "Hello"},
    }
    assert text_message(TO, "x" * 4096)["text"]["preview_url"] is False


@pytest.mark.parametrize(("to", "body"), [(TO, ""), (TO, "x" * 4097), ("  ", "hi")])
def test_text_message_limits(to: str, body: str) -> None:
    with pytest.raises(ValueError):
        text_message(to, body)


def test_button_message() -> None:
    payload = button_message(
        TO, "Pick", [("yes", "Yes"), ("no", "No")], header_text="Q", footer_text="F"
    )

    assert payload == BASE | {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Q"},
            "body": {"text": "Pick"},
            "footer": {"text": "F"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                ]
            },
        },
    }


def test_button_message_omits_absent_header_and_footer() -> None:
    interactive = button_message(TO, "Pick", [("a", "A")])["interactive"]

    assert set(interactive) == {"type", "body", "action"}


@pytest.mark.parametrize(
    ("buttons", "kwargs"),
    [
        ([], {}),
        ([("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")], {}),
        ([("a", "A"), ("a", "B")], {}),
        ([("a", "A"), ("b", "A")], {}),
        ([("a", "t" * 21)], {}),
        ([("", "A")], {}),
        ([("a", "A")], {"header_text": "h" * 61}),
        ([("a", "A")], {"footer_text": "f" * 61}),
    ],
)
def test_button_message_limits(buttons: list[tuple[str, str]], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        button_message(TO, "Pick", buttons, **kwargs)


def test_list_message_accepts_models_and_dicts() -> None:
    sections: list[ListSection | dict[str, Any]] = [
        ListSection(title="Mains", rows=[ListRow(id="m1", title="Pasta", description="Fresh")]),
        {"title": "Drinks", "rows": [{"id": "d1", "title": "Water"}]},
    ]

    payload = list_message(TO, "Menu", "Open", sections, header_text="Today")

    assert payload["interactive"] == {
        "type": "list",
        "header": {"type": "text", "text": "Today"},
        "body": {"text": "Menu"},
        "action": {
            "button": "Open",
            "sections": [
                {
                    "title": "Mains",
                    "rows": [{"id": "m1", "title": "Pasta", "description": "Fresh"}],
                },
                {"title": "Drinks", "rows": [{"id": "d1", "title": "Water"}]},
            ],
        },
    }


def _rows(*ids: str) -> list[dict[str, str]]:
    return [{"id": row_id, "title": row_id} for row_id in ids]


@pytest.mark.parametrize(
    ("button", "sections"),
    [
        ("B" * 21, [{"rows": _rows("a")}]),
        ("Open", []),
        ("Open", [{"title": "s", "rows": _rows(*map(str, range(11)))}]),
        ("Open", [{"title": f"s{i}", "rows": _rows(f"r{i}")} for i in range(11)]),
        ("Open", [{"rows": _rows("a")}, {"rows": _rows("b")}]),
        ("Open", [{"title": "s", "rows": _rows("a")}, {"title": "t", "rows": _rows("a")}]),
        ("Open", [{"rows": [{"id": "a", "title": "t" * 25}]}]),
        ("Open", [{"rows": [{"id": "a", "title": "t", "description": "d" * 73}]}]),
        ("Open", [{"rows": []}]),
    ],
)
def test_list_message_limits(button: str, sections: list[dict[str, Any]]) -> None:
    with pytest.raises(ValueError):
        list_message(TO, "Menu", button, sections)


def test_template_message_shapes() -> None:
    plain = template_message(TO, "hello_world", "en_US")
    positional = template_message(TO, "order_update", "en_US", ["Ana", "A-1"])
    named = template_message(TO, "welcome", "es", {"first_name": "Ana"})
    header = {"type": "header", "parameters": [{"type": "text", "text": "Sale"}]}
    explicit = template_message(TO, "promo", "en_US", components=[header])

    assert plain == BASE | {
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    assert positional["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-1"}],
        }
    ]
    assert named["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}],
        }
    ]
    assert explicit["template"]["components"] == [header]


def test_template_message_rejects_ambiguous_arguments() -> None:
    with pytest.raises(ValueError):
        template_message(TO, "t", "en_US", ["a"], components=[{"type": "body"}])
    with pytest.raises(ValueError):
        template_message(TO, "t", "en_US", "abc")


def test_read_receipt() -> None:
    assert read_receipt("wamid.1") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.1",
    }
    assert read_receipt("wamid.1", typing_indicator=True)["typing_indicator"] == {"type": "text"}


def test_send_result_parsing() -> None:
    body = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+1 555", "wa_id": "1555"}],
        "messages": [{"id": "wamid.X", "message_status": "accepted"}],
    }

    result = SendResult.from_graph(body)

    assert result == SendResult(
        message_id="wamid.X", wa_id="1555", input="+1 555", message_status="accepted"
    )
    assert SendResult.from_graph({"messages": [{"id": "wamid.Y"}]}).wa_id is None


@pytest.mark.parametrize(
    "body", [{}, {"messages": []}, {"messages": [{}]}, {"messages": [{"id": ""}]}, [], None, "x"]
)
def test_send_result_rejects_bodies_without_a_message_id(body: Any) -> None:
    with pytest.raises(ValueError):
        SendResult.from_graph(body)
