"""SQL of the model registry: providers and project models, always within one project."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import ModelProvider, ProjectModel
from threadline.models_registry.cache import cache
from threadline.models_registry.schemas import ProjectModelFilters, ProviderFilters


async def provider(
    session: AsyncSession, project_id: uuid.UUID, provider_id: uuid.UUID
) -> ModelProvider | None:
    """A provider of the project."""
    statement = select(ModelProvider).where(
        ModelProvider.id == provider_id, ModelProvider.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def provider_named(
    session: AsyncSession, project_id: uuid.UUID, name: str
) -> ModelProvider | None:
    """The project's provider called ``name``."""
    statement = select(ModelProvider).where(
        ModelProvider.project_id == project_id, ModelProvider.name == name
    )
    return (await session.execute(statement)).scalar_one_or_none()


# Every model call resolves its model: these statements are built once.
_ANY_PROVIDER = (
    select(ModelProvider.id).where(ModelProvider.project_id == bindparam("project_id")).limit(1)
)


async def has_providers(session: AsyncSession, project_id: uuid.UUID) -> bool:
    """Whether the project has registered any provider."""
    rows = await session.execute(_ANY_PROVIDER, {"project_id": project_id})
    return rows.first() is not None


async def providers_page(
    session: AsyncSession, project_id: uuid.UUID, filters: ProviderFilters, page: PageParams
) -> tuple[list[ModelProvider], int]:
    """One page of the project's providers, oldest first."""
    statement = select(ModelProvider).where(ModelProvider.project_id == project_id)
    if filters.name_cont:
        statement = statement.where(contains(ModelProvider.name, filters.name_cont))
    if filters.kind_eq is not None:
        statement = statement.where(ModelProvider.kind == filters.kind_eq)
    ordered = statement.order_by(ModelProvider.created_at, ModelProvider.id)
    return await fetch_page(session, ordered, page)


async def models_of_provider(session: AsyncSession, provider_id: uuid.UUID) -> int:
    """How many models a provider serves."""
    statement = select(func.count()).where(ProjectModel.provider_id == provider_id)
    return int((await session.execute(statement)).scalar_one())


async def model(
    session: AsyncSession, project_id: uuid.UUID, model_id: uuid.UUID
) -> ProjectModel | None:
    """A model of the project."""
    statement = select(ProjectModel).where(
        ProjectModel.id == model_id, ProjectModel.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def model_named(
    session: AsyncSession, project_id: uuid.UUID, name: str
) -> tuple[ProjectModel, ModelProvider] | None:
    """The project's model called ``name``, with its provider."""
    return await _model_with_provider(session, _MODEL_NAMED, project_id=project_id, name=name)


async def default_model(
    session: AsyncSession, project_id: uuid.UUID
) -> tuple[ProjectModel, ModelProvider] | None:
    """The project's default model, with its provider."""
    return await _model_with_provider(session, _DEFAULT_MODEL, project_id=project_id)


_WITH_PROVIDER = (
    select(ProjectModel, ModelProvider)
    .join(ModelProvider, ModelProvider.id == ProjectModel.provider_id)
    .where(ProjectModel.project_id == bindparam("project_id"))
)
_MODEL_NAMED = _WITH_PROVIDER.where(ProjectModel.name == bindparam("name"))
_DEFAULT_MODEL = _WITH_PROVIDER.where(ProjectModel.is_default.is_(True))


async def _model_with_provider(
    session: AsyncSession, statement: Select[ProjectModel, ModelProvider], **params: Any
) -> tuple[ProjectModel, ModelProvider] | None:
    row = (await session.execute(statement, params)).first()
    return None if row is None else (row[0], row[1])


async def name_taken(
    session: AsyncSession, project_id: uuid.UUID, name: str, *, besides: uuid.UUID | None
) -> bool:
    """Whether another model of the project is called ``name``."""
    statement = select(ProjectModel.id).where(
        ProjectModel.project_id == project_id, ProjectModel.name == name
    )
    if besides is not None:
        statement = statement.where(ProjectModel.id != besides)
    return (await session.execute(statement.limit(1))).first() is not None


async def models_page(
    session: AsyncSession, project_id: uuid.UUID, filters: ProjectModelFilters, page: PageParams
) -> tuple[list[ProjectModel], int]:
    """One page of the project's models, oldest first."""
    statement = select(ProjectModel).where(ProjectModel.project_id == project_id)
    if filters.name_cont:
        statement = statement.where(contains(ProjectModel.name, filters.name_cont))
    if filters.provider_id_eq is not None:
        statement = statement.where(ProjectModel.provider_id == filters.provider_id_eq)
    if filters.is_default_eq is not None:
        statement = statement.where(ProjectModel.is_default.is_(filters.is_default_eq))
    ordered = statement.order_by(ProjectModel.created_at, ProjectModel.id)
    return await fetch_page(session, ordered, page)


async def clear_default(
    session: AsyncSession, project_id: uuid.UUID, *, besides: uuid.UUID | None
) -> None:
    """Make no model of the project (other than ``besides``) its default."""
    statement = update(ProjectModel).where(
        ProjectModel.project_id == project_id, ProjectModel.is_default.is_(True)
    )
    if besides is not None:
        statement = statement.where(ProjectModel.id != besides)
    cache.changed(session)  # a Core statement: the ORM's write events do not see it
    await session.execute(statement.values(is_default=False))
