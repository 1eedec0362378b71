"""One active link per customer: a partial unique index, and concurrent creates agree."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from builders import create_customer, create_project
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import SetupLink


def _row(project_id: str, customer_id: str, status: str) -> SetupLink:
    now = utcnow()
    return SetupLink(
        id=uuid.uuid4(),
        project_id=uuid.UUID(project_id),
        customer_id=uuid.UUID(customer_id),
        token_digest=uuid.uuid4().hex,
        token_encrypted="x",
        status=status,
        allowed_connection_types=["dedicated"],
        provision_phone_number=False,
        phone_number_country_isos=[],
        theme_config={},
        expires_at=now + timedelta(days=1),
        created_at=now,
        updated_at=now,
    )


async def test_the_index_allows_one_active_link_per_customer(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    async with resources.db.transaction() as session:
        for status in ("active", "revoked", "revoked", "used", "expired"):
            session.add(_row(project.id, customer["id"], status))
    with pytest.raises(IntegrityError):
        async with resources.db.transaction() as session:
            session.add(_row(project.id, customer["id"], "active"))


async def test_concurrent_creates_leave_exactly_one_active_link(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    customer = await create_customer(client, project)
    path = f"/api/v1/customers/{customer['id']}/setup_links"
    answers = await asyncio.gather(*(client.post(path, headers=project.headers) for _ in range(6)))
    assert [a.status_code for a in answers] == [201] * 6
    listing = await client.get(path, headers=project.headers)
    statuses = sorted(x["status"] for x in listing.json()["data"])
    assert statuses == ["active"] + ["revoked"] * 5
