"""Meta's component rules before anything is stored, project scoping, drafts, deletion,
edits on Meta, and the webhooks Meta sends about templates."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from template_data import create_template, order_template

from builders import count_rows, create_project, post_webhook, run_jobs
from threadline.config import SANDBOX_IDENTITY
from threadline.kit.resources import Resources
from threadline.models import WhatsappTemplate
from threadline.sandbox.state import SandboxState

API = "/api/v1/whatsapp_templates"

BROKEN = {
    "name": "Bad Name",
    "language_code": "english",
    "category": "PROMO",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "{{1}} and {{2}}"},
        {"type": "BODY", "text": "{{1}}{{3}} " + "x" * 1030},
        {"type": "FOOTER", "text": "Bye {{1}}"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "text": "Go", "url": "https://x.example/{{1}}/page"},
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call me"},
                {"type": "COPY_CODE"},
                {"type": "OTP", "otp_type": "MAGIC"},
                {"type": "QUICK_REPLY", "text": "A label longer than twenty-five"},
            ],
        },
    ],
}


async def test_bad_components_are_a_422_listing_every_problem_and_create_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)

    refused = await client.post(API, headers=project.headers, json={"template": BROKEN})

    assert refused.status_code == 422
    errors = refused.json()["errors"]
    expected = [
        "name:",
        "language_code:",
        "category:",
        "components[0].text: a text header takes at most one variable",
        "components[0].example.header_text",
        "components[1].text: at most 1024 characters",
        "components[1].text: variables can't be next to each other",
        "components[1].text: positional variables are numbered in sequence",
        "components[1].text: a variable can't start or end the body",
        "components[1].example.body_text",
        "components[2].text: the footer can't have variables",
        "components[3].buttons[0].url: the variable must be at the end",
        "components[3].buttons[0].example",
        "components[3].buttons[1].phone_number",
        "components[3].buttons[2].example: the offer code",
        "components[3].buttons[3].otp_type",
        "components[3].buttons[3].type: OTP buttons belong to AUTHENTICATION",
        "components[3].buttons[4].text: at most 25 characters",
    ]
    for start in expected:
        assert any(e.startswith(start) for e in errors), (start, errors)
    assert await count_rows(resources, WhatsappTemplate) == 0


@pytest.mark.parametrize(
    ("components", "problem"),
    [
        ([{"type": "HEADER", "format": "TEXT", "text": "Hi"}], "exactly one BODY"),
        (
            [{"type": "BODY", "text": "Hi {{first}} there", "example": {"body_text": [["A"]]}}],
            "POSITIONAL parameters are written",
        ),
        ([{"type": "BODY", "text": "Hi"}, {"type": "HEADER", "format": "IMAGE"}], "header_handle"),
        (
            [
                {"type": "BODY", "text": "Hi"},
                {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": "x"}] * 3},
            ],
            "at most 2 URL button(s)",
        ),
    ],
)
async def test_each_rule_is_checked(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    components: list[dict[str, Any]],
    problem: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    template = order_template(components=components)

    refused = await client.post(API, headers=project.headers, json={"template": template})

    assert refused.status_code == 422
    assert any(problem in e for e in refused.json()["errors"]), refused.json()


async def test_named_templates_with_media_headers_and_every_button_kind_are_accepted(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    named = {
        "name": "spring_offer",
        "language_code": "en_US",
        "category": "MARKETING",
        "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}},
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, take {{discount}} off.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Ana"},
                        {"param_name": "discount", "example": "10%"},
                    ]
                },
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Stop"},
                    {"type": "QUICK_REPLY", "text": "Later"},
                    {"type": "COPY_CODE", "example": "SPRING10"},
                    {"type": "URL", "text": "Shop", "url": "https://shop.example.com"},
                ],
            },
        ],
    }

    draft = await create_template(client, project, named)

    assert draft["parameter_count"] == 2 and draft["metadata"]["parameter_format"] == "NAMED"


async def test_another_projects_template_is_a_404(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    owner = await create_project(resources, sandbox_url, name="Owner")
    other = await create_project(resources, sandbox_url, name="Other")
    draft = await create_template(client, owner, order_template())
    one = f"{API}/{draft['id']}"

    answers = [
        await client.get(one, headers=other.headers),
        await client.patch(one, headers=other.headers, json={"template": {"name": "x"}}),
        await client.delete(one, headers=other.headers),
        await client.post(f"{one}/submit", headers=other.headers),
        await client.post(
            f"{one}/send_template",
            headers=other.headers,
            json={"template": {"phone_number": "+15550104040"}},
        ),
        await client.get(f"{API}/{uuid.uuid4()}", headers=owner.headers),
    ]

    assert [a.status_code for a in answers] == [404] * 6
    listed = (await client.get(API, headers=other.headers)).json()
    assert listed["data"] == [] and listed["meta"]["total_count"] == 0


async def test_drafts_change_and_list_with_filters(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    await create_template(client, project, order_template("welcome", category="MARKETING"))
    taken = await client.post(API, headers=project.headers, json={"template": order_template()})
    assert taken.status_code == 422 and "already exists" in taken.json()["errors"][0]

    changed = await client.patch(
        f"{API}/{draft['id']}", headers=project.headers, json={"template": {"name": "order_done"}}
    )
    broken = await client.patch(
        f"{API}/{draft['id']}",
        headers=project.headers,
        json={"template": {"components": [{"type": "FOOTER", "text": "x"}]}},
    )

    assert changed.status_code == 200 and changed.json()["data"]["name"] == "order_done"
    assert broken.status_code == 422
    filters = {"q[name_cont]": "ORDER", "q[category_eq]": "UTILITY", "q[status_eq]": "draft"}
    listed = (await client.get(API, headers=project.headers, params=filters)).json()
    assert [t["name"] for t in listed["data"]] == ["order_done"]


async def test_delete_removes_it_on_meta_and_marks_it_removed(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)
    assert sandbox.find_template("order_ready", "en_US") is not None

    deleted = await client.delete(f"{API}/{draft['id']}", headers=project.headers)

    assert deleted.status_code == 200 and deleted.json()["data"]["status"] == "removed"
    assert sandbox.find_template("order_ready", "en_US") is None
    again = await create_template(client, project, order_template())
    assert again["status"] == "draft"


async def test_meta_refusing_a_submission_is_a_422_with_metas_error(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    first = await create_template(client, project, order_template())
    await client.post(f"{API}/{first['id']}/submit", headers=project.headers)
    await client.delete(f"{API}/{first['id']}", headers=project.headers)
    from threadline.sandbox.config import TemplateSpec

    # Someone made it on Meta directly: the name is taken there, not here.
    sandbox.add_template(TemplateSpec(name="order_ready", language="en_US", components=[]))
    second = await create_template(client, project, order_template())

    refused = await client.post(f"{API}/{second['id']}/submit", headers=project.headers)

    assert refused.status_code == 422
    assert refused.json()["meta"]["error_code"] == 100
    shown = (await client.get(f"{API}/{second['id']}", headers=project.headers)).json()
    assert shown["data"]["status"] == "draft"


async def test_edit_on_meta_sends_the_change_for_review_again(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    submitted = (await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)).json()
    await _template_webhook(client, resources, "APPROVED", submitted["submission_id"])
    body = [
        {"type": "BODY", "text": "Your order {{1}} is ready.", "example": {"body_text": [["A"]]}}
    ]

    category = await client.patch(
        f"{API}/{draft['id']}/meta",
        headers=project.headers,
        json={"template": {"category": "MARKETING"}},
    )
    edited = await client.patch(
        f"{API}/{draft['id']}/meta",
        headers=project.headers,
        json={"template": {"components": body}},
    )

    assert category.status_code == 422 and "category" in category.json()["errors"][0]
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["status"] == "submitted"
    remote = sandbox.templates[submitted["submission_id"]]
    assert remote.spec.components[0]["text"] == "Your order {{1}} is ready."


async def _template_webhook(
    client: httpx.AsyncClient, resources: Resources, event: str, meta_id: str, **extra: Any
) -> None:
    value = {"event": event, "message_template_id": int(meta_id), "reason": "NONE", **extra}
    await _webhook(client, resources, "message_template_status_update", value)


async def _webhook(
    client: httpx.AsyncClient, resources: Resources, field: str, value: dict[str, Any]
) -> None:
    change = {"field": field, "value": value}
    entry = {"id": SANDBOX_IDENTITY.waba_id, "time": 1760000000, "changes": [change]}
    body = {"object": "whatsapp_business_account", "entry": [entry]}
    assert (await post_webhook(client, body)).status_code == 200
    await run_jobs(resources)


async def test_status_category_and_quality_webhooks_update_the_template(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    draft = await create_template(client, project, order_template())
    meta_id = (await client.post(f"{API}/{draft['id']}/submit", headers=project.headers)).json()[
        "submission_id"
    ]
    one = f"{API}/{draft['id']}"

    await _template_webhook(client, resources, "PAUSED", meta_id)
    paused = (await client.get(one, headers=project.headers)).json()["data"]
    await _template_webhook(client, resources, "REINSTATED", meta_id)
    await _webhook(
        client,
        resources,
        "template_category_update",
        {"message_template_id": int(meta_id), "new_category": "MARKETING"},
    )
    await _webhook(
        client,
        resources,
        "message_template_quality_update",
        {"message_template_id": int(meta_id), "new_quality_score": "YELLOW"},
    )
    shown = (await client.get(one, headers=project.headers)).json()["data"]

    assert (paused["status"], paused["metadata"]["meta_status"]) == ("disabled", "PAUSED")
    assert shown["status"] == "approved" and shown["category"] == "MARKETING"
    assert shown["metadata"]["quality_score"] == "YELLOW"
