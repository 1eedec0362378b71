"""Display name requests, checked against ``openapi-platform.yaml``: every answer of the
list, create and get routes (successes, Meta's refusal, 401s, 404s, 422s) validated in
place. Our extra ``rejection_reason`` is not in the reference (it allows extra fields)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from builders import create_project
from contract.test_contract_kapso_v1 import PLATFORM, check, check_page_meta, load_spec
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState
from whatsapp_display_names.names_data import ask, production_config, requests_url

LIST = "/whatsapp_configs/{whatsapp_config_id}/display_name_requests"
ONE = LIST + "/{id}"
NO_KEY = {"X-API-Key": "tl_wrong"}

pytestmark = pytest.mark.usefixtures("sandbox")


async def test_contract_display_name_requests(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    spec = load_spec(PLATFORM)
    sandbox.settings.name_review = "PENDING"
    project = await create_project(resources, sandbox_url)
    h = project.headers
    config_id = await production_config(resources, project, sandbox_url)
    refused_by_meta = await production_config(
        resources, project, sandbox_url, token="nope", phone_number_id="100000000000999"
    )
    listed = (await client.get("/api/v1/whatsapp_configs", headers=h)).json()["data"]
    (sandbox_config,) = [c for c in listed if c["kind"] == "sandbox"]
    missing = str(uuid.uuid4())

    created = await ask(client, project, config_id, "Acme")
    creates = [
        created,
        await ask(client, project, config_id, "Acme Again"),
        await ask(client, project, sandbox_config["id"], "Acme"),
        await ask(client, project, refused_by_meta, "Acme"),
        await ask(client, project, missing, "Acme"),
        await client.post(requests_url(config_id), headers=h, json={}),
        await client.post(requests_url(config_id), headers=NO_KEY, json={}),
    ]
    assert [a.status_code for a in creates] == [201, 422, 422, 201, 404, 422, 401]
    assert creates[3].json()["data"]["status"] == "failed"
    for answer in creates:
        check(spec, LIST, answer)

    listing = await client.get(requests_url(config_id), headers=h, params={"per_page": 5})
    lists = [
        listing,
        await client.get(requests_url(missing), headers=h),
        await client.get(requests_url(config_id), headers=NO_KEY),
    ]
    assert [a.status_code for a in lists] == [200, 404, 401]
    for answer in lists:
        check(spec, LIST, answer)
    check_page_meta(listing)

    one = f"{requests_url(config_id)}/{created.json()['data']['id']}"
    gets = [
        await client.get(one, headers=h),
        await client.get(f"{requests_url(config_id)}/{missing}", headers=h),
        await client.get(one, headers=NO_KEY),
    ]
    assert [a.status_code for a in gets] == [200, 404, 401]
    for answer in gets:
        check(spec, ONE, answer)
