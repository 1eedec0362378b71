"""Resolved models are kept by the process (``models_registry.cache``): a change made
through this process (the API, the ORM) is seen by the next resolution at once, one made
behind its back (another process) within the cache's TTL."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import update

from builders import TestProject, create_project
from model_builders import create_model, create_provider
from threadline.kit.resources import Resources
from threadline.llm.types import ModelSpec
from threadline.models import ProjectModel
from threadline.models_registry.cache import cache
from threadline.models_registry.resolution import ModelNotConfigured, resolve


async def _resolve(resources: Resources, project: TestProject, name: str | None) -> ModelSpec:
    async with resources.db.read() as session:
        return await resolve(
            session, uuid.UUID(project.id), name, resources.settings, cipher=resources.cipher
        )


async def test_the_first_provider_ends_the_local_fallback_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    assert (await _resolve(resources, project, "gpt-5")).api_key == "local"
    await create_provider(client, project)
    with pytest.raises(ModelNotConfigured):
        await _resolve(resources, project, "gpt-5")


async def test_a_model_changed_or_deleted_through_the_api_is_seen_at_once(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    model = await create_model(client, project, provider["id"], name="smart", model="gpt-4o")
    assert (await _resolve(resources, project, "smart")).model == "gpt-4o"
    changed = await client.patch(
        f"/api/v1/project_models/{model['id']}",
        headers=project.headers,
        json={"project_model": {"model": "gpt-5"}},
    )
    assert changed.status_code == 200, changed.text
    assert (await _resolve(resources, project, "smart")).model == "gpt-5"
    deleted = await client.delete(f"/api/v1/project_models/{model['id']}", headers=project.headers)
    assert deleted.status_code == 204, deleted.text
    with pytest.raises(ModelNotConfigured):
        await _resolve(resources, project, "smart")


async def test_a_change_made_behind_the_process_is_seen_once_the_ttl_runs_out(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    await create_model(client, project, provider["id"], name="smart", model="gpt-4o")
    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    monkeypatch.setattr(cache, "ttl", 5.0)
    assert (await _resolve(resources, project, "smart")).model == "gpt-4o"
    async with resources.db.transaction() as session:  # as another process writes it
        await session.execute(
            update(ProjectModel).where(ProjectModel.name == "smart").values(model="gpt-5")
        )
    assert (await _resolve(resources, project, "smart")).model == "gpt-4o"  # kept
    now[0] += 5.0
    assert (await _resolve(resources, project, "smart")).model == "gpt-5"
