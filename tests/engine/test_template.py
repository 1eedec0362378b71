"""``{{ path }}`` rendering: roots, paths, missing values, formatting and type preservation."""

from __future__ import annotations

from typing import Any

import pytest

from threadline.engine.template import render, render_value, template_paths

SCOPE: dict[str, Any] = {
    "vars": {
        "name": "Ana",
        "age": 31,
        "price": 9.5,
        "vip": True,
        "blocked": False,
        "nothing": None,
        "items": [{"sku": "a1", "qty": 2}, {"sku": "b2", "qty": 1}],
        "order": {"status": "shipped", "lines": [["x", "y"]], "1": "first"},
        "accents": {"city": "São Paulo"},
        "dashed-key": "d",
    },
    "context": {"phone_number": "+5511999", "contact": {"name": "Ana P."}},
    "system": {"last_resume": {"reason": "timeout"}},
    "last_user_input": "yes please",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no placeholders", "no placeholders"),
        ("", ""),
        ("Hi {{vars.name}}!", "Hi Ana!"),
        ("Hi {{ name }}!", "Hi Ana!"),  # bare names are looked up in vars
        ("{{  vars.name\n}}", "Ana"),
        ("{{context.phone_number}}", "+5511999"),
        ("{{ context.contact.name }}", "Ana P."),
        ("{{system.last_resume.reason}}", "timeout"),
        ("You said: {{last_user_input}}", "You said: yes please"),
        ("{{vars.items[1].sku}}", "b2"),
        ("{{items[0].qty}}", "2"),
        ("{{items.0.sku}}", "a1"),  # a numeric dotted segment indexes a list
        ("{{items[-1].sku}}", "b2"),
        ("{{order.lines[0][1]}}", "y"),
        ("{{order.1}}", "first"),  # and is a key of an object
        ("{{dashed-key}}", "d"),
        ("{{age}} {{price}}", "31 9.5"),
        ("{{vip}}/{{blocked}}", "true/false"),
        ("[{{nothing}}]", "[]"),
        ("{{items}}", '[{"sku":"a1","qty":2},{"sku":"b2","qty":1}]'),
        ("{{accents}}", '{"city":"São Paulo"}'),
        ("{{order.lines}}", '[["x","y"]]'),
        ("a{{missing}}b", "ab"),
        ("{{vars.missing.deeper}}", ""),
        ("{{items[5].sku}}", ""),
        ("{{items.first}}", ""),
        ("{{name.first}}", ""),  # a string has no fields
        ("{{context.unknown}}", ""),
        ("{{name}} and {{name}} and {{age}}", "Ana and Ana and 31"),
        ("{{1}} stays", "{{1}} stays"),  # WhatsApp template placeholders are not paths
        ("{{ a b }} {{}} {{name", "{{ a b }} {{}} {{name"),
        ("{{ {{name}} }}", "{{ {{name}} }}"),
        ("{{name}}{{age}}", "Ana31"),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert render(text, SCOPE) == expected


def test_render_missing_roots_and_empty_scope() -> None:
    assert render("{{name}}|{{context.x}}|{{last_user_input}}", {}) == "||"


def test_render_same_template_with_other_scopes() -> None:
    template = "Hello {{name}}"

    assert render(template, {"vars": {"name": "A"}}) == "Hello A"
    assert render(template, {"vars": {"name": "B"}}) == "Hello B"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{vars.items}}", SCOPE["vars"]["items"]),
        ("{{ age }}", 31),
        ("{{vip}}", True),
        ("{{nothing}}", None),
        ("{{missing}}", None),
        ("{{order}}", SCOPE["vars"]["order"]),
        ("n={{age}}", "n=31"),
        (" {{age}}", " 31"),
        ("{{age}}{{age}}", "3131"),
        ("{{1}}", "{{1}}"),
        ("plain", "plain"),
        (42, 42),
        (None, None),
        (
            {
                "sku": "{{items[0].sku}}",
                "qty": "{{items[0].qty}}",
                "all": ["{{vip}}", "x{{vip}}", 1],
            },
            {"sku": "a1", "qty": 2, "all": [True, "xtrue", 1]},
        ),
        ({"{{name}}": "keys are not rendered"}, {"{{name}}": "keys are not rendered"}),
        ({"nested": {"deeper": ["{{order.status}}"]}}, {"nested": {"deeper": ["shipped"]}}),
    ],
)
def test_render_value(value: Any, expected: Any) -> None:
    assert render_value(value, SCOPE) == expected


def test_render_value_copies_containers() -> None:
    rendered = render_value({"items": "{{items}}"}, SCOPE)

    rendered["items"].append("changed")

    assert len(SCOPE["vars"]["items"]) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nothing here", []),
        ("{{a}} and {{ vars.b[0].c }} and {{1}} and {{a}}", ["a", "vars.b[0].c", "a"]),
        ("{{last_user_input}}", ["last_user_input"]),
    ],
)
def test_template_paths(text: str, expected: list[str]) -> None:
    assert template_paths(text) == expected
