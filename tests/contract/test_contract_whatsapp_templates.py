"""The WhatsApp templates API, checked against ``openapi-whatsapp.yaml`` and ``openapi.yaml``.

Every answer of every template route, successes and refusals alike, is validated in place.
One explicit adjustment: ``WhatsappTemplate.components`` is Meta's raw structure, whose
fields depend on the component's type (a BODY has no ``format`` nor ``buttons``, a FOOTER
no ``example``), so a component is checked for its ``type`` only, not for the presence of
every field some type has. ``openapi.yaml`` declares ``components`` an object, where
``openapi-whatsapp.yaml`` (and Meta) have an array: both are checked as the array.
A sync run's ``anchor_whatsapp_config`` here is the project's own sandbox config, whose
``customer_id`` is null (as in test_contract_customers_configs.py): checked as nullable.
"""

from __future__ import annotations

import copy
import uuid

import httpx
import pytest

from builders import create_project, run_jobs
from contract.test_contract_kapso_v1 import CORE, Spec, check, load_spec
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState
from whatsapp_templates.template_data import create_template, order_template

WHATSAPP = "openapi-whatsapp.yaml"
API = "/api/v1/whatsapp_templates"
NO_KEY = {"X-API-Key": "tl_wrong"}

pytestmark = pytest.mark.usefixtures("sandbox")


def _spec(name: str) -> Spec:
    spec = load_spec(name)
    template = copy.deepcopy(spec.schemas["WhatsappTemplate"])
    kind = {"type": "string", "enum": ["HEADER", "BODY", "FOOTER", "BUTTONS"]}
    items = {"type": "object", "properties": {"type": kind}}
    template["properties"]["components"] = {"type": "array", "items": items}
    extra = {"WhatsappTemplate": template}
    if "WhatsappConfig" in spec.schemas:
        config = copy.deepcopy(spec.schemas["WhatsappConfig"])
        config["properties"]["customer_id"]["nullable"] = True
        extra["WhatsappConfig"] = config
    return spec.with_schemas(extra)


async def test_contract_template_list_create_get_update(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec, core = _spec(WHATSAPP), _spec(CORE)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    created = await client.post(API, headers=h, json={"template": order_template()})
    refused = await client.post(
        API, headers=h, json={"template": {**order_template(), "name": "X"}}
    )
    empty = await client.post(API, headers=h, json={"template": {"components": "BODY"}})
    listing = await client.get(API, headers=h, params={"q[status_eq]": "draft", "per_page": 5})
    statuses = [created.status_code, refused.status_code, empty.status_code, listing.status_code]
    assert statuses == [201, 422, 422, 200]
    assert [e.split(":")[0] for e in empty.json()["errors"]] == [
        "name",
        "language_code",
        "category",
        "components",
    ]
    for answer in (created, refused, empty, listing, await client.get(API, headers=NO_KEY)):
        check(spec, "/whatsapp_templates", answer)
    check(core, "/whatsapp_templates", listing)

    one = f"{API}/{created.json()['data']['id']}"
    missing = f"{API}/{uuid.uuid4()}"
    answers = [
        await client.get(one, headers=h),
        await client.get(missing, headers=h),
        await client.patch(one, headers=h, json={"template": {"name": "order_later"}}),
        await client.patch(one, headers=h, json={"template": {"name": "Bad Name"}}),
        await client.patch(missing, headers=h, json={"template": {"name": "x"}}),
        await client.delete(missing, headers=h),
        await client.delete(one, headers=h),
    ]
    assert [a.status_code for a in answers] == [200, 404, 200, 422, 404, 404, 200]
    for answer in answers:
        check(spec, "/whatsapp_templates/{template_id}", answer)
    check(core, "/whatsapp_templates/{template_id}", answers[0])


async def test_contract_template_submit_send_and_edit_on_meta(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    spec, core = _spec(WHATSAPP), _spec(CORE)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    draft = await create_template(client, project, order_template())
    one, missing = f"{API}/{draft['id']}", f"{API}/{uuid.uuid4()}"

    submits = [
        await client.post(f"{one}/submit", headers=h),
        await client.post(f"{one}/submit", headers=h),
        await client.post(f"{missing}/submit", headers=h),
    ]
    assert [a.status_code for a in submits] == [200, 422, 404]
    for answer in submits:
        check(spec, "/whatsapp_templates/{template_id}/submit", answer)
    await run_jobs(resources)

    good = {
        "phone_number": "+15550104040",
        "template_parameters": ["Ana", "B-7"],
        "header_params": "B-7",
        "button_url_params": {"0": "B-7"},
    }
    sends = [
        await client.post(f"{one}/send_template", headers=h, json={"template": good}),
        await client.post(
            f"{one}/send_template",
            headers=h,
            json={"template": {**good, "template_parameters": []}},
        ),
        await client.post(f"{missing}/send_template", headers=h, json={"template": good}),
    ]
    assert [a.status_code for a in sends] == [200, 422, 404]
    for answer in sends:
        check(spec, "/whatsapp_templates/{template_id}/send_template", answer)
        check(core, "/whatsapp_templates/{template_id}/send_template", answer)

    body = [{"type": "BODY", "text": "Order {{1}} is ready.", "example": {"body_text": [["A"]]}}]
    edits = [
        await client.patch(f"{one}/meta", headers=h, json={"template": {"components": body}}),
        await client.patch(f"{one}/meta", headers=h, json={"template": {}}),
        await client.patch(
            f"{missing}/meta", headers=h, json={"template": {"category": "UTILITY"}}
        ),
    ]
    assert [a.status_code for a in edits] == [200, 422, 404]
    for answer in edits:
        check(spec, "/whatsapp_templates/{template_id}/meta", answer)


async def test_contract_template_sync_and_its_status(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = _spec(WHATSAPP)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    queued = await client.post(f"{API}/sync", headers=h)
    unknown = await client.post(
        f"{API}/sync", headers=h, json={"whatsapp_config_id": str(uuid.uuid4())}
    )
    assert [queued.status_code, unknown.status_code] == [202, 422]
    for answer in (queued, unknown):
        check(spec, "/whatsapp_templates/sync", answer)
    await run_jobs(resources)

    run_id = queued.json()["sync_requests"][0]["id"]
    answers = [
        await client.get(f"{API}/sync_status", headers=h),
        await client.get(f"{API}/sync_status", headers=h, params={"sync_request_ids": run_id}),
        await client.get(f"{API}/sync_status", headers=NO_KEY),
    ]
    assert [a.status_code for a in answers] == [200, 200, 401]
    assert answers[1].json()["sync_requests"][0]["status"] == "succeeded"
    for answer in answers:
        check(spec, "/whatsapp_templates/sync_status", answer)


async def test_contract_every_create_example_of_the_reference_is_accepted(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = _spec(WHATSAPP)
    operation = spec.document["paths"]["/whatsapp_templates"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    project = await create_project(resources, sandbox_url)

    answers = {
        name: await client.post(API, headers=project.headers, json=example["value"])
        for name, example in examples.items()
    }

    refused = {name: a.json() for name, a in answers.items() if a.status_code != 201}
    # Its body ends with {{promo_code}}: Meta rejects a variable at the start or end of the
    # body (research/whatsapp.md §3.2), and so does the sandbox on submission.
    ends_with_a_variable = refused.pop("template_with_image_header")
    assert ends_with_a_variable["errors"] == [
        "components[1].text: a variable can't start or end the body"
    ]
    assert not refused and len(answers) >= 10
    for answer in answers.values():
        check(spec, "/whatsapp_templates", answer)
