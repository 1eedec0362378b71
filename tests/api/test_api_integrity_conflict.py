"""A unique violation that escapes a service is a typed 409, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from builders import create_project
from threadline.app import create_app
from threadline.auth.dependencies import CurrentProject, DbSession
from threadline.config import Settings
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.models import Function


def _function(project_id: uuid.UUID) -> Function:
    now = utcnow()
    return Function(
        id=uuid.uuid4(),
        project_id=project_id,
        name="Dup",
        slug="dup",
        description=None,
        url="https://x.test/f",
        secret_encrypted="x",
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
async def racing_client(
    settings: Settings, resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    """The app plus a route that writes a duplicate slug, found only at flush or commit."""
    app = create_app(settings, resources)

    @app.post("/test/duplicate")
    async def duplicate(session: DbSession, project: CurrentProject, flush: bool) -> dict[str, str]:
        session.add(_function(project.id))
        session.add(_function(project.id))
        if flush:
            await session.flush()
        return {"status": "unreachable"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize("flush", [True, False], ids=["at-flush", "at-commit"])
async def test_an_escaped_unique_violation_is_a_409(
    racing_client: httpx.AsyncClient, resources: Resources, sandbox_url: str, flush: bool
) -> None:
    project = await create_project(resources, sandbox_url)

    response = await racing_client.post(
        "/test/duplicate", headers=project.headers, params={"flush": flush}
    )

    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "Conflict"
    assert body["status"] == 409
    assert "retry" in body["message"]
