"""Resolving ``provider_model_name`` to a ModelSpec: each rule of resolution.py's docstring,
and the HTTP client each spec is called with."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from builders import TestProject, create_project
from model_builders import create_model, create_provider
from threadline.config import Settings
from threadline.kit.resources import Resources
from threadline.llm.client import http_for
from threadline.llm.types import ModelSettings, ModelSpec
from threadline.models_registry.resolution import (
    ModelNotConfigured,
    local_spec,
    resolve,
)

KEY = "sk-ant-0123456789wxyz"


async def _resolve(
    resources: Resources, project: TestProject, name: str | None, settings: Settings | None = None
) -> ModelSpec:
    async with resources.db.read() as session:
        return await resolve(
            session,
            uuid.UUID(project.id),
            name,
            settings or resources.settings,
            cipher=resources.cipher,
        )


async def test_a_registered_name_is_its_model_on_its_provider(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(
        client,
        project,
        name="claude",
        kind="anthropic",
        api_key=KEY,
        base_url="https://api.example.com/anthropic",
        timeout_seconds=12.5,
        max_retries=4,
    )
    await create_model(
        client,
        project,
        provider["id"],
        name="smart",
        model="claude-sonnet-4-5",
        temperature=0.3,
        max_tokens=900,
        reasoning_effort="high",
        input_price_per_million="3",
        output_price_per_million="15",
    )
    spec = await _resolve(resources, project, "smart")
    assert spec == ModelSpec(
        name="smart",
        provider="anthropic",
        model="claude-sonnet-4-5",
        api_key=KEY,
        base_url="https://api.example.com/anthropic",
        settings=ModelSettings(temperature=0.3, max_tokens=900, reasoning_effort="high"),
        pricing=spec.pricing,
        timeout_seconds=12.5,
        max_retries=4,
    )
    assert spec.pricing.input_per_million == Decimal(3)
    assert spec.pricing.output_per_million == Decimal(15)


async def test_no_name_is_the_projects_default(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    await create_model(client, project, provider["id"], name="plain")
    await create_model(
        client, project, provider["id"], name="main", model="gpt-4o", is_default=True
    )
    for name in (None, ""):
        spec = await _resolve(resources, project, name)
        assert spec.name == "main" and spec.model == "gpt-4o"
    assert (await _resolve(resources, project, "plain")).name == "plain"


async def test_without_providers_the_local_model_server_answers_any_name(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    spec = await _resolve(resources, project, "anything-at-all")
    assert spec == local_spec(resources.settings, "anything-at-all")
    assert spec.provider == "openai" and spec.model == "anything-at-all"
    assert spec.api_key == "local"
    assert spec.base_url == resources.settings.local_model_url("openai")
    unnamed = await _resolve(resources, project, None)
    assert unnamed.base_url == spec.base_url


async def test_without_providers_and_without_the_local_server_nothing_resolves(
    resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    off = resources.settings.model_copy(update={"model_server_enabled": False})
    with pytest.raises(ModelNotConfigured) as raised:
        await _resolve(resources, project, "gpt-5", off)
    assert raised.value.status_code == 422
    assert "'gpt-5'" in raised.value.message and "/api/v1/project_models" in raised.value.message


async def test_once_a_provider_exists_an_unknown_name_is_not_configured(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(client, project)
    with pytest.raises(ModelNotConfigured) as raised:
        await _resolve(resources, project, "gpt-5")
    assert "'gpt-5'" in raised.value.message
    with pytest.raises(ModelNotConfigured) as unnamed:
        await _resolve(resources, project, None)
    assert "no default model" in unnamed.value.message and "is_default" in unnamed.value.message
    await create_model(client, project, provider["id"], name="gpt-5")
    assert (await _resolve(resources, project, "gpt-5")).name == "gpt-5"


async def test_another_projects_model_does_not_resolve(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    mine = await create_project(resources, sandbox_url, name="Mine")
    theirs = await create_project(resources, sandbox_url, name="Theirs")
    await create_provider(client, mine, name="mine")
    provider = await create_provider(client, theirs)
    await create_model(client, theirs, provider["id"], name="secret", is_default=True)
    with pytest.raises(ModelNotConfigured):
        await _resolve(resources, mine, "secret")
    with pytest.raises(ModelNotConfigured):
        await _resolve(resources, mine, None)


async def test_a_provider_without_a_key_resolves_with_an_empty_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    provider = await create_provider(
        client, project, api_key=None, base_url="https://llm.example.com/v1"
    )
    await create_model(client, project, provider["id"], name="open")
    spec = await _resolve(resources, project, "open")
    assert spec.api_key == "" and spec.base_url == "https://llm.example.com/v1"


def test_the_local_model_server_is_called_with_the_internal_client(
    resources: Resources,
) -> None:
    settings = resources.settings
    assert http_for(local_spec(settings, "m"), resources) is resources.http
    anthropic = ModelSpec(
        name="m",
        provider="anthropic",
        model="m",
        api_key="local",
        base_url=settings.local_model_url("anthropic") + "/",
    )
    assert http_for(anthropic, resources) is resources.http


def test_any_other_url_is_called_with_the_egress_checked_client(resources: Resources) -> None:
    vendor = ModelSpec(name="m", provider="openai", model="m", api_key="k")
    assert http_for(vendor, resources) is resources.http  # the vendor's own, fixed URL
    elsewhere = resources.settings.base_url() + "/model-server-not/openai/v1"
    user = ModelSpec(name="m", provider="openai", model="m", api_key="k", base_url=elsewhere)
    assert http_for(user, resources) is resources.calls
