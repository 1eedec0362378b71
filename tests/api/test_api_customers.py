"""Customers through the API: create, read, list with filters and pages, update, delete."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from builders import count_rows, create_customer, create_project
from threadline.kit.resources import Resources
from threadline.models import Customer


async def test_customer_round_trip(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    created = await create_customer(client, project, name="Acme", external_customer_id="CUS-1")
    assert created["name"] == "Acme"
    assert created["external_customer_id"] == "CUS-1"
    assert created["created_at"] == created["updated_at"]
    path = f"/api/v1/customers/{created['id']}"

    got = await client.get(path, headers=project.headers)
    assert got.status_code == 200, got.text
    assert got.json()["data"] == created

    patched = await client.patch(
        path, headers=project.headers, json={"customer": {"name": "Acme Inc."}}
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["name"], data["external_customer_id"]) == ("Acme Inc.", "CUS-1")
    assert data["updated_at"] > created["updated_at"]

    deleted = await client.delete(path, headers=project.headers)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert (await client.get(path, headers=project.headers)).status_code == 404
    assert await count_rows(resources, Customer) == 0


async def test_list_filters_and_pages(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    names = ["Acme North", "acme south", "Globex", "100% Real", "Initech"]
    made = [
        await create_customer(client, project, name=name, external_customer_id=f"X-{i}")
        for i, name in enumerate(names)
    ]

    async def listing(**params: str | int) -> dict[str, object]:
        response = await client.get("/api/v1/customers", headers=project.headers, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def names_of(body: dict[str, object]) -> list[str]:
        return [c["name"] for c in body["data"]]  # type: ignore[attr-defined,index]

    everything = await listing()
    assert names_of(everything) == list(reversed(names))  # newest first
    assert everything["meta"] == {"page": 1, "per_page": 20, "total_pages": 1, "total_count": 5}
    assert names_of(await listing(**{"q[name_cont]": "ACME"})) == ["acme south", "Acme North"]
    assert names_of(await listing(**{"q[name_cont]": "%"})) == ["100% Real"]
    assert names_of(await listing(**{"q[name_cont]": "_"})) == []
    assert names_of(await listing(**{"q[external_customer_id_eq]": "X-2"})) == ["Globex"]
    assert names_of(await listing(**{"q[external_customer_id_eq]": "x-2"})) == []

    third = made[2]["created_at"]
    assert names_of(await listing(**{"q[created_at_gteq]": third})) == names[:1:-1]
    assert names_of(await listing(**{"q[created_at_lteq]": third})) == names[2::-1]
    second_page = await listing(page=2, per_page=2)
    assert names_of(second_page) == ["Globex", "acme south"]
    assert second_page["meta"] == {"page": 2, "per_page": 2, "total_pages": 3, "total_count": 5}
    assert names_of(await listing(page=9, per_page=2)) == []


async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    for params in (
        {"page": 0},
        {"per_page": 101},
        {"page": "x"},
        {"q[created_at_gteq]": "yesterday"},
        {"q[created_at_lteq]": "2026-01-01T00:00:00"},  # no time zone
    ):
        response = await client.get("/api/v1/customers", headers=project.headers, params=params)
        assert response.status_code == 422, (params, response.text)
        field = next(iter(params))
        assert field in response.json()["message"], response.text


async def test_bad_bodies_say_what_to_change_and_change_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    existing = await create_customer(client, project, external_customer_id="CUS-1")
    bodies = [
        ({"customer": {"external_customer_id": "CUS-2"}}, "customer.name"),
        ({"customer": {"name": "A"}}, "customer.external_customer_id"),
        ({"customer": {"name": "", "external_customer_id": "CUS-2"}}, "customer.name"),
        ({"customer": {"name": "A" * 201, "external_customer_id": "C"}}, "customer.name"),
        ({"customer": {"name": "A", "external_customer_id": "C", "x": 1}}, "customer.x"),
        ({"customer": {"name": "A", "external_customer_id": "CUS-1"}}, "external_customer_id"),
        ({"name": "A"}, "customer"),
    ]
    for body, field in bodies:
        response = await client.post("/api/v1/customers", headers=project.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["message"], response.text
    path = f"/api/v1/customers/{existing['id']}"
    for body, field in [
        ({"customer": {"name": None}}, "name"),
        ({"customer": {"name": 5}}, "customer.name"),
        ({"customer": {"nmae": "typo"}}, "customer.nmae"),
    ]:
        response = await client.patch(path, headers=project.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["message"], response.text
    other = await create_customer(client, project, external_customer_id="CUS-3")
    taken = await client.patch(
        f"/api/v1/customers/{other['id']}",
        headers=project.headers,
        json={"customer": {"external_customer_id": "CUS-1"}},
    )
    assert taken.status_code == 422, taken.text
    assert existing["id"] in taken.json()["message"]
    assert await count_rows(resources, Customer) == 2
    unchanged = await client.get(path, headers=project.headers)
    assert unchanged.json()["data"] == existing


async def test_bad_and_foreign_ids(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    intruder = await create_project(resources, sandbox_url, name="Other")
    customer = await create_customer(client, project)
    path = f"/api/v1/customers/{customer['id']}"
    update = {"customer": {"name": "Hijacked"}}
    for target in (path, f"/api/v1/customers/{uuid.uuid4()}"):
        assert (await client.get(target, headers=intruder.headers)).status_code == 404
        patched = await client.patch(target, headers=intruder.headers, json=update)
        assert patched.status_code == 404, patched.text
        assert patched.json()["error"] == "Customer not found"
        assert (await client.delete(target, headers=intruder.headers)).status_code == 404
        configs = await client.get(target + "/whatsapp_configs", headers=intruder.headers)
        assert configs.status_code == 404
    listing = await client.get("/api/v1/customers", headers=intruder.headers)
    assert listing.json()["data"] == []
    malformed = await client.get("/api/v1/customers/not-a-uuid", headers=project.headers)
    assert malformed.status_code == 422
    assert "customer_id" in malformed.json()["message"]
    assert (await client.get("/api/v1/customers")).status_code == 401
    still = await client.get(path, headers=project.headers)
    assert still.json()["data"]["name"] == "Acme"


async def test_concurrent_creates_of_one_external_id_make_one_customer(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    body = {"customer": {"name": "Twin", "external_customer_id": "CUS-TWIN"}}
    answers = await asyncio.gather(
        *(client.post("/api/v1/customers", headers=project.headers, json=body) for _ in range(6))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [422] * 5, [a.text for a in answers]
    for answer in answers[1:]:
        if answer.status_code == 422:
            assert "external_customer_id" in answer.json()["message"]
    assert await count_rows(resources, Customer) == 1
