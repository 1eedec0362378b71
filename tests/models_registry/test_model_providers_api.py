"""Model providers over the API: the key is write-only and encrypted, base URLs obey the
egress policy (but for the local model server's), another project's provider is a 404."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from builders import create_project
from model_builders import MODELS, PROVIDERS, create_model, create_provider
from threadline.kit.resources import Resources
from threadline.models import ModelProvider

KEY = "sk-test-0123456789abcd"


async def test_provider_crud_round_trip(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    made = await create_provider(client, project, name="main", timeout_seconds=30)
    assert made["kind"] == "openai" and made["base_url"] is None
    assert made["timeout_seconds"] == 30 and made["max_retries"] == 2
    one = f"{PROVIDERS}/{made['id']}"
    patched = await client.patch(
        one,
        headers=project.headers,
        json={"model_provider": {"kind": "anthropic", "max_retries": 0}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["kind"] == "anthropic"
    assert patched.json()["data"]["max_retries"] == 0
    listed = await client.get(
        PROVIDERS, headers=project.headers, params={"q[kind_eq]": "anthropic"}
    )
    assert [p["id"] for p in listed.json()["data"]] == [made["id"]]
    assert listed.json()["meta"]["total_count"] == 1
    none = await client.get(PROVIDERS, headers=project.headers, params={"q[name_cont]": "zzz"})
    assert none.json()["data"] == [] and none.json()["meta"]["total_count"] == 0
    assert (await client.delete(one, headers=project.headers)).status_code == 204
    assert (await client.get(one, headers=project.headers)).status_code == 404


async def test_the_api_key_is_never_returned_and_is_stored_encrypted(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    made = await create_provider(client, project, api_key=KEY)
    got = await client.get(f"{PROVIDERS}/{made['id']}", headers=project.headers)
    listed = await client.get(PROVIDERS, headers=project.headers)
    for text in (str(made), got.text, listed.text):
        assert KEY not in text and 'api_key"' not in text.replace("'", '"')
    assert made["api_key_set"] is True and made["api_key_hint"] == "abcd"
    async with resources.db.session() as session:
        row = (await session.execute(select(ModelProvider))).scalar_one()
    assert row.api_key_encrypted is not None and KEY not in row.api_key_encrypted
    assert resources.cipher.decrypt(row.api_key_encrypted) == KEY
    cleared = await client.patch(
        f"{PROVIDERS}/{made['id']}",
        headers=project.headers,
        json={"model_provider": {"api_key": None}},
    )
    assert cleared.json()["data"]["api_key_set"] is False
    assert cleared.json()["data"]["api_key_hint"] is None


async def test_a_short_key_gets_no_hint(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    made = await create_provider(client, project, api_key="short-key")
    assert made["api_key_set"] is True and made["api_key_hint"] is None


async def test_a_private_base_url_is_a_clear_422_and_nothing_is_written(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    for url in ("http://10.1.2.3/v1", "http://192.168.1.1:11434/v1", "http://169.254.169.254/"):
        body = {"name": "private", "kind": "openai", "base_url": url}
        response = await client.post(
            PROVIDERS, headers=project.headers, json={"model_provider": body}
        )
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["errors"][0]["field"] == "model_provider.base_url"
        assert "egress refused" in error["message"]
    assert (await client.get(PROVIDERS, headers=project.headers)).json()["data"] == []
    made = await create_provider(client, project)
    patched = await client.patch(
        f"{PROVIDERS}/{made['id']}",
        headers=project.headers,
        json={"model_provider": {"base_url": "http://10.0.0.7/v1"}},
    )
    assert patched.status_code == 422 and "egress refused" in patched.json()["message"]


async def test_the_local_model_server_is_allowed_though_it_is_this_server(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    settings = resources.settings
    own = settings.base_url() + "/elsewhere"
    body = {"name": "own", "kind": "openai", "base_url": own}
    refused = await client.post(PROVIDERS, headers=project.headers, json={"model_provider": body})
    assert refused.status_code == 422 and "own address" in refused.json()["message"]
    for kind in ("openai", "anthropic"):
        made = await create_provider(
            client,
            project,
            name=f"local-{kind}",
            kind=kind,
            base_url=settings.local_model_url(kind),
        )
        assert made["base_url"] == settings.local_model_url(kind)


async def test_bad_input_is_one_422_listing_every_problem(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    body = {"name": "", "kind": "gemini", "base_url": "ftp://x", "timeout_seconds": 0, "x": 1}
    response = await client.post(PROVIDERS, headers=project.headers, json={"model_provider": body})
    assert response.status_code == 422
    assert len(response.json()["errors"]) >= 5, response.text
    await create_provider(client, project, name="taken")
    again = await client.post(
        PROVIDERS,
        headers=project.headers,
        json={"model_provider": {"name": "taken", "kind": "openai", "base_url": "http://10.0.0.1"}},
    )
    assert again.status_code == 422
    fields = {problem["field"] for problem in again.json()["errors"]}
    assert fields == {"model_provider.name", "model_provider.base_url"}
    made = await create_provider(client, project, name="other")
    nulls = await client.patch(
        f"{PROVIDERS}/{made['id']}",
        headers=project.headers,
        json={"model_provider": {"name": None, "timeout_seconds": None}},
    )
    assert nulls.status_code == 422 and len(nulls.json()["errors"]) == 2


async def test_a_provider_serving_models_cannot_be_deleted(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    model = await create_model(client, project, provider["id"])
    one = f"{PROVIDERS}/{provider['id']}"
    refused = await client.delete(one, headers=project.headers)
    assert refused.status_code == 409, refused.text
    await client.delete(f"{MODELS}/{model['id']}", headers=project.headers)
    assert (await client.delete(one, headers=project.headers)).status_code == 204


async def test_another_projects_provider_is_a_404(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    provider = await create_provider(client, theirs)
    one = f"{PROVIDERS}/{provider['id']}"
    assert (await client.get(one, headers=mine.headers)).status_code == 404
    patch = {"model_provider": {"name": "stolen"}}
    assert (await client.patch(one, headers=mine.headers, json=patch)).status_code == 404
    assert (await client.delete(one, headers=mine.headers)).status_code == 404
    assert (await client.get(PROVIDERS, headers=mine.headers)).json()["data"] == []
    same_name = await create_provider(client, mine)
    assert same_name["name"] == provider["name"]
    assert (await client.get(one, headers=theirs.headers)).json()["data"]["name"] == "openai"


async def test_concurrent_creates_of_one_name_make_one_provider(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    body = {"model_provider": {"name": "same", "kind": "openai"}}

    async def create() -> httpx.Response:
        return await client.post(PROVIDERS, headers=project.headers, json=body)

    answers = await asyncio.gather(*(create() for _ in range(6)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] + [422] * 5, [answer.text for answer in answers]
    refused = next(answer for answer in answers if answer.status_code == 422)
    assert refused.json()["errors"][0]["field"] == "model_provider.name"
    listed = await client.get(PROVIDERS, headers=project.headers)
    assert listed.json()["meta"]["total_count"] == 1
