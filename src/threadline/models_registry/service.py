"""The model registry's rules: a project's providers and models, and its usage.

A provider's ``base_url`` is a user's URL and obeys the egress policy when saved (and
on every connection, see ``llm.client.http_for``), except the local model
server's own URLs. Making a model the default takes the default from any other; the
partial unique index on ``project_models`` decides between concurrent requests.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Conflict, NotFound, Unprocessable
from threadline.kit.clock import utcnow
from threadline.kit.egress import url_refusal
from threadline.kit.resources import Resources
from threadline.kit.schemas import PageParams
from threadline.models import ModelCall, ModelProvider, Project, ProjectModel
from threadline.models_registry import repository, usage
from threadline.models_registry.schemas import (
    ModelCallFilters,
    ModelProviderCreateFields,
    ModelProviderFields,
    ModelUsageOut,
    ProjectModelCreateFields,
    ProjectModelFields,
    ProjectModelFilters,
    ProviderFilters,
)

Problem = dict[str, str]


class ModelProviderNotFound(NotFound):
    """The model provider does not exist in this project."""

    error = "Model provider not found"


class ProjectModelNotFound(NotFound):
    """The model does not exist in this project."""

    error = "Project model not found"


class ProviderInUse(Conflict):
    """The provider still serves models: delete them or move them to another provider."""


class DefaultRaced(Conflict):
    """Another model was made the project's default at the same time; retry."""


def _invalid(problems: list[Problem]) -> Unprocessable:
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return Unprocessable(summary, details=summary, errors=problems)


def _nulls(fields: Any, resource: str, required: set[str]) -> list[Problem]:
    sent = fields.model_fields_set & required
    return [
        {"field": f"{resource}.{name}", "message": "cannot be null"}
        for name in sorted(sent)
        if getattr(fields, name) is None
    ]


# Providers


async def get_provider(
    session: AsyncSession, project: Project, provider_id: uuid.UUID
) -> ModelProvider:
    """A provider of the project (another project's is not found)."""
    found = await repository.provider(session, project.id, provider_id)
    if found is None:
        raise ModelProviderNotFound()
    return found


async def list_providers(
    session: AsyncSession, project: Project, filters: ProviderFilters, page: PageParams
) -> tuple[list[ModelProvider], int]:
    """One page of the project's providers."""
    return await repository.providers_page(session, project.id, filters, page)


async def create_provider(
    session: AsyncSession, project: Project, resources: Resources, fields: ModelProviderCreateFields
) -> ModelProvider:
    """Register a provider; its key is stored encrypted."""
    problems = await _provider_problems(session, project, resources, fields, None)
    if problems:
        raise _invalid(problems)
    now = utcnow()
    provider = ModelProvider(id=uuid.uuid4(), project_id=project.id, created_at=now)
    values = fields.model_dump(exclude={"api_key"}) | _key_columns(resources, fields.api_key)
    values["timeout_seconds"] = fields.timeout_seconds or 60.0
    values["max_retries"] = 2 if fields.max_retries is None else fields.max_retries
    await _write_provider(session, provider, values | {"updated_at": now})
    return provider


async def update_provider(
    session: AsyncSession,
    project: Project,
    resources: Resources,
    provider_id: uuid.UUID,
    fields: ModelProviderFields,
) -> ModelProvider:
    """Change the fields sent; ``api_key`` replaces (or, ``null``, clears) the stored key."""
    provider = await get_provider(session, project, provider_id)
    problems = _nulls(fields, "model_provider", {"name", "kind", "timeout_seconds", "max_retries"})
    problems += await _provider_problems(session, project, resources, fields, provider.id)
    if problems:
        raise _invalid(problems)
    values = fields.model_dump(exclude_unset=True, exclude={"api_key"})
    if "api_key" in fields.model_fields_set:
        values |= _key_columns(resources, fields.api_key)
    await _write_provider(session, provider, values | {"updated_at": utcnow()})
    return provider


async def delete_provider(session: AsyncSession, project: Project, provider_id: uuid.UUID) -> None:
    """Remove a provider that serves no model."""
    provider = await get_provider(session, project, provider_id)
    if await repository.models_of_provider(session, provider.id):
        raise ProviderInUse()
    await session.delete(provider)
    await session.flush()


def _key_columns(resources: Resources, api_key: str | None) -> dict[str, str | None]:
    """The stored form of a key: ciphertext, and its last four when it is long enough
    that four characters say little about it."""
    if api_key is None:
        return {"api_key_encrypted": None, "api_key_hint": None}
    hint = api_key[-4:] if len(api_key) >= 12 else None
    return {"api_key_encrypted": resources.cipher.encrypt(api_key), "api_key_hint": hint}


async def _provider_problems(
    session: AsyncSession,
    project: Project,
    resources: Resources,
    fields: ModelProviderFields,
    own_id: uuid.UUID | None,
) -> list[Problem]:
    problems: list[Problem] = []
    if fields.name is not None:
        other = await repository.provider_named(session, project.id, fields.name)
        if other is not None and other.id != own_id:
            problems.append(_provider_name_taken(fields.name))
    if fields.base_url is not None and not resources.settings.is_local_model_url(fields.base_url):
        reason = await url_refusal(resources.egress, fields.base_url)
        if reason is not None:
            problems.append({"field": "model_provider.base_url", "message": reason})
    return problems


def _provider_name_taken(name: str) -> Problem:
    return {"field": "model_provider.name", "message": f"a provider called {name} exists"}


async def _write_provider(
    session: AsyncSession, provider: ModelProvider, values: dict[str, Any]
) -> None:
    """Write ``values`` in a savepoint: a concurrent request that took the name (past the
    check, the unique constraint decides) is the same 422 as a name taken before."""
    # Set inside the savepoint: begin_nested() flushes what is pending before it starts.
    name = values.get("name", provider.name)
    try:
        async with session.begin_nested():
            session.add(provider)
            for column, value in values.items():
                setattr(provider, column, value)
    except IntegrityError:
        raise _invalid([_provider_name_taken(name)]) from None


# Models


async def get_model(session: AsyncSession, project: Project, model_id: uuid.UUID) -> ProjectModel:
    """A model of the project (another project's is not found)."""
    found = await repository.model(session, project.id, model_id)
    if found is None:
        raise ProjectModelNotFound()
    return found


async def list_models(
    session: AsyncSession, project: Project, filters: ProjectModelFilters, page: PageParams
) -> tuple[list[ProjectModel], int]:
    """One page of the project's models."""
    return await repository.models_page(session, project.id, filters, page)


async def create_model(
    session: AsyncSession, project: Project, fields: ProjectModelCreateFields
) -> ProjectModel:
    """Register a model under a name; ``is_default`` takes the default from any other."""
    problems = await _model_problems(session, project, fields, None)
    if problems:
        raise _invalid(problems)
    now = utcnow()
    model = ProjectModel(id=uuid.uuid4(), project_id=project.id, created_at=now)
    values = fields.model_dump() | {"is_default": bool(fields.is_default), "updated_at": now}
    await _write_model(session, model, values)
    return model


async def update_model(
    session: AsyncSession, project: Project, model_id: uuid.UUID, fields: ProjectModelFields
) -> ProjectModel:
    """Change the fields sent; ``is_default: true`` takes the default from any other."""
    model = await get_model(session, project, model_id)
    problems = _nulls(fields, "project_model", {"name", "provider_id", "model", "is_default"})
    problems += await _model_problems(session, project, fields, model.id)
    if problems:
        raise _invalid(problems)
    values = fields.model_dump(exclude_unset=True) | {"updated_at": utcnow()}
    await _write_model(session, model, values)
    return model


async def delete_model(session: AsyncSession, project: Project, model_id: uuid.UUID) -> None:
    """Remove a model (its recorded calls stay, under its name)."""
    await session.delete(await get_model(session, project, model_id))
    await session.flush()


async def _model_problems(
    session: AsyncSession, project: Project, fields: ProjectModelFields, own_id: uuid.UUID | None
) -> list[Problem]:
    problems: list[Problem] = []
    if fields.name is not None and await repository.name_taken(
        session, project.id, fields.name, besides=own_id
    ):
        problems.append(_model_name_taken(fields.name))
    provider_id = fields.provider_id
    if provider_id is not None and not await repository.provider(session, project.id, provider_id):
        message = "no such provider in this project"
        problems.append({"field": "project_model.provider_id", "message": message})
    return problems


def _model_name_taken(name: str) -> Problem:
    return {"field": "project_model.name", "message": f"a model called {name} exists"}


async def _write_model(session: AsyncSession, model: ProjectModel, values: dict[str, Any]) -> None:
    """Take the default from any other model, then write ``values`` in a savepoint: of
    concurrent requests the unique indexes let one win; a lost name is a 422, a lost
    default a 409."""
    name, project_id, model_id = values.get("name", model.name), model.project_id, model.id
    if values.get("is_default"):
        await repository.clear_default(session, project_id, besides=model_id)
    try:
        async with session.begin_nested():
            session.add(model)
            for column, value in values.items():
                setattr(model, column, value)
    except IntegrityError:
        if await repository.name_taken(session, project_id, name, besides=model_id):
            raise _invalid([_model_name_taken(name)]) from None
        raise DefaultRaced() from None


# Usage


async def model_usage(
    session: AsyncSession, project: Project, filters: ModelCallFilters
) -> ModelUsageOut:
    """The project's calls, tokens and cost, in all and per model name."""
    return await usage.totals(session, project.id, filters)


async def list_calls(
    session: AsyncSession, project: Project, filters: ModelCallFilters, page: PageParams
) -> tuple[list[ModelCall], int]:
    """One page of the project's recorded calls, newest first."""
    return await usage.calls_page(session, project.id, filters, page)
