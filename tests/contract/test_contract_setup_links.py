"""Setup links, checked against the Kapso v1 reference specs (platform and core).

``openapi.yaml`` names the list's page ``meta.current_page``, ``openapi-platform.yaml``
``meta.page``: the list carries both. The platform's ``theme_config`` declares every
colour, so the links show the page's full theme (their own colours over the defaults).
The platform's ``POST`` declares no 422: a refused body is checked in the API tests.
"""

from __future__ import annotations

import uuid

import httpx
from test_contract_kapso_v1 import CORE, PLATFORM, check, load_spec

from builders import create_customer, create_project
from threadline.kit.resources import Resources

NO_KEY = {"X-API-Key": "tl_wrong"}
LIST = "/customers/{customer_id}/setup_links"
ONE = "/customers/{customer_id}/setup_links/{id}"


async def test_contract_setup_links(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    core, platform = load_spec(CORE), load_spec(PLATFORM)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    customer = await create_customer(client, project)
    mine = f"/api/v1/customers/{customer['id']}/setup_links"
    nobody = f"/api/v1/customers/{uuid.uuid4()}/setup_links"
    full = {
        "success_redirect_url": "https://app.example/ok",
        "failure_redirect_url": "https://app.example/failed",
        "allowed_connection_types": ["dedicated"],
        "theme_config": {"primary_color": "#3b82f6"},
    }
    answers = [
        await client.post(mine, headers=h),
        await client.post(mine, headers=h, json={"setup_link": full}),
        await client.post(nobody, headers=h),
        await client.post(mine, headers=NO_KEY),
        await client.get(mine, headers=h),
        await client.get(nobody, headers=h),
        await client.get(mine, headers=NO_KEY),
    ]
    assert [a.status_code for a in answers] == [201, 201, 404, 401, 200, 404, 401]
    assert [x["status"] for x in answers[4].json()["data"]] == ["active", "revoked"]
    for answer in answers:
        check(platform, LIST, answer)
        check(core, LIST, answer)

    link = answers[1].json()["data"]
    one, missing = f"{mine}/{link['id']}", f"{mine}/{uuid.uuid4()}"
    changes = [
        await client.patch(one, headers=h, json={"setup_link": {"theme_config": {}}}),
        await client.patch(one, headers=h, json={"setup_link": {"status": "revoked"}}),
        await client.patch(one, headers=h, json={"setup_link": {"status": "used"}}),
        await client.patch(one, headers=h, json={"setup_link": {"success_redirect_url": "x"}}),
        await client.patch(missing, headers=h, json={"setup_link": {"status": "revoked"}}),
        await client.patch(one, headers=NO_KEY, json={"setup_link": {"status": "revoked"}}),
    ]
    assert [a.status_code for a in changes] == [200, 200, 422, 422, 404, 401]
    for answer in changes:
        check(platform, ONE, answer)
