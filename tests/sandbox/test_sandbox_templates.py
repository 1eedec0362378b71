"""Template sends (132xxx errors) and the message_templates management API."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from threadline.sandbox import SandboxState

MESSAGES = "/v23.0/100000000000001/messages"
TEMPLATES = "/v23.0/200000000000001/message_templates"
GraphErrorCheck = Callable[[httpx.Response, int, int], dict[str, Any]]

PROMO = {
    "name": "seasonal_promo",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Our {{1}} is on!",
            "example": {"header_text": ["Summer Sale"]},
        },
        {
            "type": "BODY",
            "text": "Shop until {{1}} with code {{2}} for {{3}} off.",
            "example": {"body_text": [["August", "25OFF", "25%"]]},
        },
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Unsubscribe"},
                {
                    "type": "URL",
                    "text": "Shop",
                    "url": "https://shop.test/{{1}}",
                    "example": ["https://shop.test/summer"],
                },
            ],
        },
    ],
}


def template_send(name: str, language: str, *components: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = list(components)
    return {
        "messaging_product": "whatsapp",
        "to": "+15550100001",
        "type": "template",
        "template": template,
    }


def body(*values: str, named: bool = False) -> dict[str, Any]:
    if named:
        params = [{"type": "text", "parameter_name": k, "text": k.upper()} for k in values]
    else:
        params = [{"type": "text", "text": value} for value in values]
    return {"type": "body", "parameters": params}


async def test_seeded_templates_can_be_sent(client: httpx.AsyncClient) -> None:
    sends = [
        template_send("hello_world", "en_US"),
        template_send("order_update", "en_US", body("Ana", "A-1")),
        template_send("appointment_reminder", "en_US", body("Monday")),
        template_send("appointment_reminder", "es", body("lunes")),
    ]

    for payload in sends:
        response = await client.post(MESSAGES, json=payload)
        assert response.status_code == 200, response.text
        [message] = response.json()["messages"]
        assert message["message_status"] == "accepted"


@pytest.mark.parametrize(
    ("name", "language"),
    [("no_such_template", "en_US"), ("appointment_reminder", "fr"), ("hello_world", "es")],
)
async def test_unknown_template_or_language_is_132001(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, name: str, language: str
) -> None:
    response = await client.post(MESSAGES, json=template_send(name, language))

    error = graph_error(response, 404, 132001)
    assert error["error_data"]["details"] == f"template name ({name}) does not exist in {language}"


@pytest.mark.parametrize("values", [(), ("Ana",), ("Ana", "A-1", "extra")])
async def test_parameter_count_mismatch_is_132000(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, values: tuple[str, ...]
) -> None:
    components = [body(*values)] if values else []
    response = await client.post(MESSAGES, json=template_send("order_update", "en_US", *components))

    error = graph_error(response, 400, 132000)
    assert (
        f"({len(values)}) does not match the expected number of params (2)"
        in (error["error_data"]["details"])
    )


async def test_named_parameters_on_positional_template_is_132012(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    payload = template_send("order_update", "en_US", body("name", "order", named=True))

    graph_error(await client.post(MESSAGES, json=payload), 400, 132012)


@pytest.mark.parametrize(("status", "code"), [("PAUSED", 132015), ("DISABLED", 132016)])
async def test_paused_and_disabled_templates(
    client: httpx.AsyncClient,
    state: SandboxState,
    graph_error: GraphErrorCheck,
    status: Any,
    code: int,
) -> None:
    template = state.find_template("hello_world", "en_US")
    assert template is not None
    template.spec.status = status

    graph_error(await client.post(MESSAGES, json=template_send("hello_world", "en_US")), 400, code)


async def test_template_text_parameter_limits(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    payload = template_send("appointment_reminder", "en_US", body("x" * 1025))

    graph_error(await client.post(MESSAGES, json=payload), 400, 131009)


async def test_list_templates_returns_seeds_with_paging(client: httpx.AsyncClient) -> None:
    page = (await client.get(TEMPLATES)).json()

    names = sorted((t["name"], t["language"]) for t in page["data"])
    assert names == [
        ("appointment_reminder", "en_US"),
        ("appointment_reminder", "es"),
        ("hello_world", "en_US"),
        ("order_update", "en_US"),
    ]
    assert all(t["status"] == "APPROVED" and t["id"].isdigit() for t in page["data"])
    assert set(page["paging"]["cursors"]) == {"before", "after"}
    assert "next" not in page["paging"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "appointment_reminder"}, 2),
        ({"language": "es"}, 1),
        ({"status": "APPROVED", "category": "UTILITY"}, 4),
        ({"category": "MARKETING"}, 0),
    ],
)
async def test_list_templates_filters(
    client: httpx.AsyncClient, params: dict[str, str], expected: int
) -> None:
    page = (await client.get(TEMPLATES, params=params)).json()

    assert len(page["data"]) == expected
    assert all(t[key] == value for t in page["data"] for key, value in params.items())


async def test_list_templates_paginates_with_cursors(client: httpx.AsyncClient) -> None:
    first = (await client.get(TEMPLATES, params={"limit": 3})).json()
    second = (await client.get(first["paging"]["next"])).json()

    assert len(first["data"]) == 3 and len(second["data"]) == 1
    assert "next" not in second["paging"]
    all_ids = [t["id"] for t in first["data"] + second["data"]]
    assert len(set(all_ids)) == 4


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "ten"}, {"after": "%%%"}])
async def test_list_templates_rejects_bad_paging(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, params: dict[str, str]
) -> None:
    graph_error(await client.get(TEMPLATES, params=params), 400, 100)


async def test_create_template_is_approved_listed_and_sendable(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post(TEMPLATES, json=PROMO)).json()

    assert created["status"] == "APPROVED" and created["category"] == "MARKETING"
    listed = (await client.get(TEMPLATES, params={"name": "seasonal_promo"})).json()["data"]
    assert [t["id"] for t in listed] == [created["id"]]
    header = {"type": "header", "parameters": [{"type": "text", "text": "Sale"}]}
    ok = template_send("seasonal_promo", "en_US", header, body("Aug", "X", "10%"))
    assert (await client.post(MESSAGES, json=ok)).status_code == 200
    missing_header = template_send("seasonal_promo", "en_US", body("Aug", "X", "10%"))
    assert (await client.post(MESSAGES, json=missing_header)).json()["error"]["code"] == 132000


async def test_named_template_round_trip(client: httpx.AsyncClient) -> None:
    named = {
        "name": "welcome_named",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, welcome to {{shop}}!",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Ana"},
                        {"param_name": "shop", "example": "Threadline"},
                    ]
                },
            }
        ],
    }
    assert (await client.post(TEMPLATES, json=named)).status_code == 200

    good = template_send("welcome_named", "en_US", body("first_name", "shop", named=True))
    wrong_name = template_send("welcome_named", "en_US", body("first_name", "city", named=True))
    positional = template_send("welcome_named", "en_US", body("Ana", "Shop"))

    assert (await client.post(MESSAGES, json=good)).status_code == 200
    assert (await client.post(MESSAGES, json=wrong_name)).json()["error"]["code"] == 132000
    assert (await client.post(MESSAGES, json=positional)).json()["error"]["code"] == 132012


def _mutated(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    request = copy.deepcopy(PROMO)
    change(request)
    return request


def _body_component(request: dict[str, Any]) -> dict[str, Any]:
    component: dict[str, Any] = request["components"][1]
    return component


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda r: r.update(name="Seasonal-Promo"), "Param name"),
        (lambda r: r.pop("name"), "Param name"),
        (lambda r: r.update(category="SPAM"), "Param category"),
        (lambda r: r.update(language="english"), "Param language"),
        (lambda r: r.update(parameter_format="FANCY"), "parameter_format"),
        (lambda r: r.update(components=[]), "Exactly one BODY"),
        (lambda r: r["components"].pop(1), "Exactly one BODY"),
        (lambda r: r["components"].append({"type": "CAROUSEL"}), "Unknown component"),
        (lambda r: _body_component(r).update(text="x" * 1025), "BODY: text"),
        (lambda r: _body_component(r).update(text="Use {{1}}{{2}} now {{3}}."), "adjacent"),
        (lambda r: _body_component(r).update(text="{{1}} until {{2}} for {{3}} off"), "start"),
        (lambda r: _body_component(r).update(text="Go {{1}} and {{3}} or {{4}}."), "numbered"),
        (lambda r: _body_component(r).update(text="Hi {{name}}, {{1}} or {{2}}."), "format"),
        (lambda r: _body_component(r).pop("example"), "example is required"),
        (
            lambda r: r["components"][0].update(
                text="{{1}} and {{2}}", example={"header_text": ["a", "b"]}
            ),
            "at most one",
        ),
        (lambda r: r["components"][0].update(text="h" * 61), "HEADER: text"),
        (lambda r: r["components"][2].update(text="Hi {{1}}"), "FOOTER"),
        (lambda r: r["components"][3].update(buttons=[]), "BUTTONS"),
        (lambda r: r["components"][3]["buttons"][0].update(text="b" * 26), "QUICK_REPLY"),
    ],
)
async def test_create_template_validation(
    client: httpx.AsyncClient,
    graph_error: GraphErrorCheck,
    change: Callable[[dict[str, Any]], Any],
    fragment: str,
) -> None:
    response = await client.post(TEMPLATES, json=_mutated(change))

    assert fragment in graph_error(response, 400, 100)["error_data"]["details"]


async def test_name_and_language_pair_must_be_unique(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    assert (await client.post(TEMPLATES, json=PROMO)).status_code == 200

    duplicate = await client.post(TEMPLATES, json=PROMO)
    other_language = await client.post(TEMPLATES, json=PROMO | {"language": "es"})

    assert "already exists" in graph_error(duplicate, 400, 100)["error_data"]["details"]
    assert other_language.status_code == 200


@pytest.mark.parametrize("review", ["REJECTED", "PENDING"])
async def test_review_outcome_comes_from_control_plane(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, review: str
) -> None:
    await client.post("/_sandbox/config", json={"template_review": review})

    created = (await client.post(TEMPLATES, json=PROMO)).json()

    assert created["status"] == review
    listed = (await client.get(TEMPLATES, params={"name": "seasonal_promo"})).json()["data"]
    assert listed[0]["status"] == review
    assert ("rejected_reason" in listed[0]) == (review == "REJECTED")
    header = {"type": "header", "parameters": [{"type": "text", "text": "Sale"}]}
    send = template_send("seasonal_promo", "en_US", header, body("a", "b", "c"))
    graph_error(await client.post(MESSAGES, json=send), 404, 132001)


async def test_delete_by_name_removes_every_language(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck
) -> None:
    response = await client.delete(TEMPLATES, params={"name": "appointment_reminder"})

    assert response.json() == {"success": True}
    remaining = (await client.get(TEMPLATES)).json()["data"]
    assert {t["name"] for t in remaining} == {"hello_world", "order_update"}
    send = template_send("appointment_reminder", "es", body("lunes"))
    graph_error(await client.post(MESSAGES, json=send), 404, 132001)


async def test_delete_one_language_by_hsm_id(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    spanish = state.find_template("appointment_reminder", "es")
    assert spanish is not None

    params = {"name": "appointment_reminder", "hsm_id": spanish.id}
    assert (await client.delete(TEMPLATES, params=params)).status_code == 200

    assert state.find_template("appointment_reminder", "es") is None
    assert state.find_template("appointment_reminder", "en_US") is not None


@pytest.mark.parametrize("params", [{}, {"name": "never_existed"}])
async def test_delete_errors(
    client: httpx.AsyncClient, graph_error: GraphErrorCheck, params: dict[str, str]
) -> None:
    graph_error(await client.delete(TEMPLATES, params=params), 400, 100)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_waba_is_graph_method_exception(
    client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(method, "/v23.0/999/message_templates", json={})

    error = response.json()["error"]
    assert response.status_code == 400
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )


async def test_object_lookups(client: httpx.AsyncClient, state: SandboxState) -> None:
    phone = (await client.get("/v23.0/100000000000001")).json()
    waba = (await client.get("/v23.0/200000000000001")).json()
    hello = state.find_template("hello_world", "en_US")
    assert hello is not None
    template = (await client.get(f"/v23.0/{hello.id}")).json()
    unknown = await client.get("/v23.0/424242")

    assert phone["display_phone_number"] == "+15550000001"
    assert phone["id"] == "100000000000001" and phone["verified_name"] == "Threadline Sandbox"
    assert waba["id"] == "200000000000001"
    assert template["name"] == "hello_world"
    assert unknown.status_code == 400 and unknown.json()["error"]["error_subcode"] == 33
