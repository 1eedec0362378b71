"""Project models over the API: CRUD, at most one default per project (the database
decides under concurrent requests), names unique per project, scoping."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from builders import create_project
from model_builders import MODELS, create_model, create_provider
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import ProjectModel


async def _defaults(resources: Resources, project_id: str) -> list[str]:
    async with resources.db.session() as session:
        statement = select(ProjectModel.name).where(
            ProjectModel.project_id == uuid.UUID(project_id), ProjectModel.is_default.is_(True)
        )
        return list((await session.execute(statement)).scalars())


async def test_model_crud_round_trip(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    made = await create_model(
        client,
        project,
        provider["id"],
        temperature=0.2,
        max_tokens=512,
        reasoning_effort="low",
        input_price_per_million="0.15",
        output_price_per_million=0.6,
    )
    assert made["is_default"] is False and made["temperature"] == 0.2
    assert made["input_price_per_million"] == 0.15 and made["output_price_per_million"] == 0.6
    one = f"{MODELS}/{made['id']}"
    patched = await client.patch(
        one,
        headers=project.headers,
        json={"project_model": {"model": "gpt-4o", "temperature": None, "is_default": True}},
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert data["model"] == "gpt-4o" and data["temperature"] is None and data["is_default"]
    assert data["max_tokens"] == 512
    listed = await client.get(MODELS, headers=project.headers, params={"q[is_default_eq]": "true"})
    assert [m["id"] for m in listed.json()["data"]] == [made["id"]]
    by_provider = await client.get(
        MODELS, headers=project.headers, params={"q[provider_id_eq]": str(uuid.uuid4())}
    )
    assert by_provider.json()["meta"]["total_count"] == 0
    assert (await client.delete(one, headers=project.headers)).status_code == 204
    assert (await client.get(one, headers=project.headers)).status_code == 404


async def test_making_a_model_the_default_takes_it_from_the_other(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    first = await create_model(client, project, provider["id"], name="a", is_default=True)
    await create_model(client, project, provider["id"], name="b", is_default=True)
    assert await _defaults(resources, project.id) == ["b"]
    again = await client.patch(
        f"{MODELS}/{first['id']}",
        headers=project.headers,
        json={"project_model": {"is_default": True}},
    )
    assert again.status_code == 200, again.text
    assert await _defaults(resources, project.id) == ["a"]
    got = await client.get(MODELS, headers=project.headers, params={"q[name_cont]": "b"})
    assert got.json()["data"][0]["is_default"] is False


async def test_concurrent_requests_leave_at_most_one_default(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)

    async def create(index: int) -> httpx.Response:
        body = {
            "name": f"m{index}",
            "provider_id": provider["id"],
            "model": "x",
            "is_default": True,
        }
        return await client.post(MODELS, headers=project.headers, json={"project_model": body})

    answers = await asyncio.gather(*(create(index) for index in range(8)))
    assert {answer.status_code for answer in answers} <= {201, 409}, [a.text for a in answers]
    assert len(await _defaults(resources, project.id)) == 1
    made = [a.json()["data"]["id"] for a in answers if a.status_code == 201]

    async def promote(model_id: str) -> httpx.Response:
        body = {"project_model": {"is_default": True}}
        return await client.patch(f"{MODELS}/{model_id}", headers=project.headers, json=body)

    answers = await asyncio.gather(*(promote(model_id) for model_id in made))
    assert {answer.status_code for answer in answers} <= {200, 409}, [a.text for a in answers]
    assert len(await _defaults(resources, project.id)) == 1


async def test_the_database_refuses_a_second_default(
    resources: Resources, sandbox_url: str, client: httpx.AsyncClient
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    now = utcnow()

    def row(name: str) -> ProjectModel:
        return ProjectModel(
            project_id=uuid.UUID(project.id),
            provider_id=uuid.UUID(provider["id"]),
            name=name,
            model="x",
            is_default=True,
            created_at=now,
            updated_at=now,
        )

    with pytest.raises(IntegrityError):
        async with resources.db.transaction() as session:
            session.add_all([row("one"), row("two")])
    other = await create_project(resources, sandbox_url, name="Other")
    other_provider = await create_provider(client, other)
    async with resources.db.transaction() as session:
        session.add(row("one"))
        second = row("one")
        second.project_id, second.provider_id = uuid.UUID(other.id), uuid.UUID(other_provider["id"])
        session.add(second)
    assert await _defaults(resources, project.id) == ["one"]
    assert await _defaults(resources, other.id) == ["one"]


async def test_names_are_unique_and_every_problem_is_listed(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    await create_model(client, project, provider["id"], name="taken")
    body = {"name": "taken", "provider_id": str(uuid.uuid4()), "model": "m"}
    response = await client.post(MODELS, headers=project.headers, json={"project_model": body})
    assert response.status_code == 422, response.text
    fields = {problem["field"] for problem in response.json()["errors"]}
    assert fields == {"project_model.name", "project_model.provider_id"}
    bad = {"name": " padded", "model": "", "temperature": 3, "reasoning_effort": "max"}
    response = await client.post(MODELS, headers=project.headers, json={"project_model": bad})
    assert response.status_code == 422 and len(response.json()["errors"]) >= 5, response.text
    listed = await client.get(MODELS, headers=project.headers)
    assert listed.json()["meta"]["total_count"] == 1


async def test_another_projects_model_and_provider_are_out_of_reach(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    their_provider = await create_provider(client, theirs)
    their_model = await create_model(client, theirs, their_provider["id"])
    one = f"{MODELS}/{their_model['id']}"
    assert (await client.get(one, headers=mine.headers)).status_code == 404
    patch = {"project_model": {"is_default": True}}
    assert (await client.patch(one, headers=mine.headers, json=patch)).status_code == 404
    assert (await client.delete(one, headers=mine.headers)).status_code == 404
    body = {"name": "gpt", "provider_id": their_provider["id"], "model": "m"}
    borrowed = await client.post(MODELS, headers=mine.headers, json={"project_model": body})
    assert borrowed.status_code == 422
    assert borrowed.json()["errors"][0]["field"] == "project_model.provider_id"
    assert (await client.get(one, headers=theirs.headers)).json()["data"]["is_default"] is False


async def test_concurrent_creates_of_one_name_make_one_model(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    body = {"project_model": {"name": "same", "provider_id": provider["id"], "model": "x"}}

    async def create() -> httpx.Response:
        return await client.post(MODELS, headers=project.headers, json=body)

    answers = await asyncio.gather(*(create() for _ in range(6)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] + [422] * 5, [answer.text for answer in answers]
    refused = next(answer for answer in answers if answer.status_code == 422)
    assert refused.json()["errors"][0]["field"] == "project_model.name"
