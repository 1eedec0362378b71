"""Interactive messages: reply buttons, lists and CTA URLs against Meta's limits."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

MESSAGES = "/v23.0/100000000000001/messages"
GraphErrorCheck = Callable[[httpx.Response, int, int], dict[str, Any]]


def envelope(kind: str, content: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": "+15550100001", "type": kind, kind: content}


def buttons_payload(count: int = 2) -> dict[str, Any]:
    buttons = [
        {"type": "reply", "reply": {"id": f"b{i}", "title": f"Option {i}"}} for i in range(count)
    ]
    return envelope(
        "interactive",
        {
            "type": "button",
            "header": {"type": "text", "text": "Header"},
            "body": {"text": "Pick one"},
            "footer": {"text": "Footer"},
            "action": {"buttons": buttons},
        },
    )


def list_payload(rows_per_section: tuple[int, ...] = (2, 3)) -> dict[str, Any]:
    sections = [
        {
            "title": f"Section {s}",
            "rows": [
                {"id": f"s{s}r{r}", "title": f"Row {r}", "description": "d"} for r in range(n)
            ],
        }
        for s, n in enumerate(rows_per_section)
    ]
    return envelope(
        "interactive",
        {
            "type": "list",
            "header": {"type": "text", "text": "Menu"},
            "body": {"text": "Choose"},
            "action": {"button": "Open", "sections": sections},
        },
    )


async def test_reply_buttons_at_the_limits_are_accepted(client: httpx.AsyncClient) -> None:
    payload = buttons_payload(3)
    interactive = payload["interactive"]
    interactive["header"]["text"] = "h" * 60
    interactive["footer"]["text"] = "f" * 60
    interactive["body"]["text"] = "b" * 1024
    interactive["action"]["buttons"][0]["reply"]["title"] = "t" * 20

    assert (await client.post(MESSAGES, json=payload)).status_code == 200


def _set_reply(index: int, **fields: str) -> Any:
    return lambda i: i["action"]["buttons"][index]["reply"].update(fields)


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        (lambda i: i["action"].update(buttons=[]), 131009, "between 1 and 3"),
        (
            lambda i: i["action"]["buttons"].extend(
                buttons_payload(2)["interactive"]["action"]["buttons"]
            ),
            131009,
            "between 1 and 3",
        ),
        (_set_reply(1, id="b0"), 131009, "Button ids must be unique"),
        (_set_reply(1, title="Option 0"), 131009, "Button titles must be unique"),
        (_set_reply(0, title="t" * 21), 131009, "buttons[0].reply.title"),
        (_set_reply(0, title=""), 131009, "buttons[0].reply.title"),
        (_set_reply(0, id="i" * 257), 131009, "buttons[0].reply.id"),
        (lambda i: i["action"]["buttons"][0].update(type="url"), 100, "buttons[0].type"),
        (lambda i: i["body"].update(text="b" * 1025), 131009, "interactive.body.text"),
        (lambda i: i.pop("body"), 100, "interactive.body is required"),
        (lambda i: i["header"].update(text="h" * 61), 131009, "interactive.header.text"),
        (lambda i: i["footer"].update(text="f" * 61), 131009, "interactive.footer.text"),
        (lambda i: i.update(type="carousel"), 100, "interactive.type"),
    ],
)
async def test_reply_button_limits(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, mutate: Any, code: int, fragment: str
) -> None:
    payload = buttons_payload(3)
    mutate(payload["interactive"])

    error = graph_error(await client.post(MESSAGES, json=payload), 400, code)

    assert fragment in error["error_data"]["details"]


async def test_button_header_may_be_media(client: httpx.AsyncClient) -> None:
    payload = buttons_payload(1)
    payload["interactive"]["header"] = {"type": "image", "image": {"link": "https://x.test/a.png"}}

    assert (await client.post(MESSAGES, json=payload)).status_code == 200


async def test_list_at_the_limits_is_accepted(client: httpx.AsyncClient) -> None:
    payload = list_payload((5, 5))
    action = payload["interactive"]["action"]
    action["button"] = "B" * 20
    action["sections"][0]["title"] = "T" * 24
    action["sections"][0]["rows"][0].update(title="r" * 24, description="d" * 72, id="i" * 200)

    assert (await client.post(MESSAGES, json=payload)).status_code == 200


async def test_single_section_needs_no_title(client: httpx.AsyncClient) -> None:
    payload = list_payload((1,))
    del payload["interactive"]["action"]["sections"][0]["title"]

    assert (await client.post(MESSAGES, json=payload)).status_code == 200


def _row(section: int, row: int, **fields: str) -> Any:
    return lambda i: i["action"]["sections"][section]["rows"][row].update(fields)


@pytest.mark.parametrize(
    ("rows", "mutate", "code", "fragment"),
    [
        ((2,), lambda i: i["action"].update(button="B" * 21), 131009, "action.button"),
        ((1,) * 11, lambda i: None, 131009, "sections has 11 items"),
        ((6, 5), lambda i: None, 131009, "rows (all sections combined) has 11"),
        ((2,), lambda i: i["action"].update(sections=[]), 131009, "sections has 0"),
        ((2,), _row(0, 0, title="r" * 25), 131009, "rows[0].title"),
        ((2,), _row(0, 1, description="d" * 73), 131009, "rows[1].description"),
        ((2, 2), _row(1, 0, id="s0r0"), 131009, "Row ids must be unique"),
        ((2, 2), lambda i: i["action"]["sections"][1].pop("title"), 100, "sections[1].title"),
        ((2,), lambda i: i["action"]["sections"][0].update(title="T" * 25), 131009, "title"),
        (
            (2,),
            lambda i: i.update(header={"type": "image", "image": {"id": "1"}}),
            100,
            "interactive.header.type",
        ),
    ],
)
async def test_list_limits(
    client: httpx.AsyncClient,
    graph_error: GraphErrorCheck,
    rows: tuple[int, ...],
    mutate: Any,
    code: int,
    fragment: str,
) -> None:
    payload = list_payload(rows)
    mutate(payload["interactive"])

    error = graph_error(await client.post(MESSAGES, json=payload), 400, code)

    assert fragment in error["error_data"]["details"]


async def test_cta_url_and_flow_interactives_are_accepted(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    cta: dict[str, Any] = {
        "type": "cta_url",
        "body": {"text": "See it"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Open", "url": "https://x.test"},
        },
    }
    flow = {"type": "flow", "body": {"text": "Go"}, "action": {"name": "flow", "parameters": {}}}

    for interactive in (cta, flow):
        response = await client.post(MESSAGES, json=envelope("interactive", interactive))
        assert response.status_code == 200, response.text

    bad = copy.deepcopy(cta)
    bad["action"]["parameters"]["display_text"] = "d" * 21
    graph_error(await client.post(MESSAGES, json=envelope("interactive", bad)), 400, 131009)
