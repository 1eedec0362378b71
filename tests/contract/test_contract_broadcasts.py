"""Broadcasts, checked against ``openapi-platform.yaml``: every answer of the list, create,
get, recipients (list and add) and send routes (successes, 401s, 404s, 422s) validated in
place. Our extras (``rate_per_second``, a recipient's ``whatsapp_message_id``, a 422's
``errors``) are not in the reference, which allows extra fields."""

from __future__ import annotations

import uuid

import httpx
import pytest

from builders import (
    approved_template,
    broadcast_recipients,
    create_broadcast,
    create_project,
    default_config_id,
    run_jobs,
)
from contract.test_contract_kapso_v1 import PLATFORM, check, check_page_meta, load_spec
from threadline.kit.resources import Resources

LIST, ONE = "/whatsapp_broadcasts", "/whatsapp_broadcasts/{broadcast_id}"
RECIPIENTS, SEND = ONE + "/recipients", ONE + "/send"
API = "/api/v1/whatsapp_broadcasts"
NO_KEY = {"X-API-Key": "tl_wrong"}

pytestmark = pytest.mark.usefixtures("sandbox")


async def test_contract_whatsapp_broadcasts(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(PLATFORM)
    project = await create_project(resources, sandbox_url)
    h, missing = project.headers, str(uuid.uuid4())
    config_id = await default_config_id(resources, project)
    fields = {
        "name": "July Promo",
        "whatsapp_config_id": config_id,
        "whatsapp_template_id": await approved_template(resources, project, name="other"),
    }
    unknown = {**fields, "whatsapp_template_id": missing}
    creates = [
        await client.post(API, headers=h, json={"whatsapp_broadcast": fields}),
        await client.post(API, headers=h, json={"whatsapp_broadcast": unknown}),
        await client.post(API, headers=NO_KEY, json={}),
    ]
    assert [a.status_code for a in creates] == [201, 422, 401]
    for answer in creates:
        check(spec, LIST, answer)

    draft = await create_broadcast(client, resources, project, recipients=3, rate_per_second=0)
    one, url = f"{API}/{draft['id']}", f"{API}/{draft['id']}/recipients"
    adds = [
        await client.post(url, headers=h, json={"recipients": broadcast_recipients(4)}),
        await client.post(url, headers=h, json={"recipients": [{"phone_number": "x"}]}),
        await client.post(url, headers=h, json={"recipients": []}),
        await client.post(f"{API}/{missing}/recipients", headers=h, json={"recipients": []}),
        await client.post(url, headers=NO_KEY, json={}),
    ]
    assert [a.status_code for a in adds] == [201, 422, 422, 404, 401]
    assert adds[0].json()["data"] == {"added": 1, "duplicates": 3, "errors": []}
    for answer in adds:
        check(spec, RECIPIENTS, answer)

    sends = [
        await client.post(f"{one}/send", headers=h),
        await client.post(f"{one}/send", headers=h),
        await client.post(f"{API}/{missing}/send", headers=h),
        await client.post(f"{one}/send", headers=NO_KEY),
    ]
    assert [a.status_code for a in sends] == [202, 422, 404, 401]
    for answer in sends:
        check(spec, SEND, answer)
    await run_jobs(resources)

    gets = [
        await client.get(one, headers=h),
        await client.get(f"{API}/{missing}", headers=h),
        await client.get(one, headers=NO_KEY),
    ]
    assert [a.status_code for a in gets] == [200, 404, 401]
    assert gets[0].json()["data"]["status"] == "completed"
    for answer in gets:
        check(spec, ONE, answer)
    listing = await client.get(API, headers=h, params={"q[whatsapp_config_id_eq]": config_id})
    lists = [listing, await client.get(API, headers=NO_KEY)]
    assert [a.status_code for a in lists] == [200, 401]
    assert listing.json()["meta"]["total_count"] == 2
    for answer in lists:
        check(spec, LIST, answer)
    check_page_meta(listing)
    recipients = [
        await client.get(url, headers=h, params={"per_page": 2}),
        await client.get(f"{API}/{missing}/recipients", headers=h),
        await client.get(url, headers=NO_KEY),
    ]
    assert [a.status_code for a in recipients] == [200, 404, 401]
    for answer in recipients:
        check(spec, RECIPIENTS, answer)
    check_page_meta(recipients[0])
