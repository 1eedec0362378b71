"""HTTP routes of the model registry (Threadline's own, not in the reference):
``/model_providers``, ``/project_models``, ``/model_usage`` and ``/model_calls``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.kit.listing import CreatedQuery, PageQuery, page_of
from threadline.kit.schemas import Envelope, Page
from threadline.llm.types import ProviderKind
from threadline.models_registry import examples, presenters, service
from threadline.models_registry.schemas import (
    CallStatus,
    ModelCallFilters,
    ModelCallOut,
    ModelProviderCreate,
    ModelProviderOut,
    ModelProviderUpdate,
    ModelUsageOut,
    ProjectModelCreate,
    ProjectModelFilters,
    ProjectModelOut,
    ProjectModelUpdate,
    ProviderFilters,
)

router = APIRouter(tags=["Models"])
PROVIDERS = "/model_providers"
MODELS = "/project_models"


def provider_filters(
    name_cont: Annotated[str | None, Query(alias="q[name_cont]", max_length=200)] = None,
    kind_eq: Annotated[ProviderKind | None, Query(alias="q[kind_eq]")] = None,
) -> ProviderFilters:
    """The filters of the provider list."""
    return ProviderFilters(name_cont=name_cont, kind_eq=kind_eq)


def model_filters(
    name_cont: Annotated[str | None, Query(alias="q[name_cont]", max_length=200)] = None,
    provider_id_eq: Annotated[uuid.UUID | None, Query(alias="q[provider_id_eq]")] = None,
    is_default_eq: Annotated[bool | None, Query(alias="q[is_default_eq]")] = None,
) -> ProjectModelFilters:
    """The filters of the model list."""
    return ProjectModelFilters(
        name_cont=name_cont, provider_id_eq=provider_id_eq, is_default_eq=is_default_eq
    )


def call_filters(
    created: CreatedQuery,
    subject_kind: Annotated[str | None, Query(alias="q[subject_kind_eq]", max_length=40)] = None,
    subject_id: Annotated[str | None, Query(alias="q[subject_id_eq]", max_length=100)] = None,
    model_name: Annotated[str | None, Query(alias="q[model_name_eq]", max_length=200)] = None,
    model: Annotated[str | None, Query(alias="q[model_eq]", max_length=200)] = None,
    status: Annotated[CallStatus | None, Query(alias="q[status_eq]")] = None,
) -> ModelCallFilters:
    """Which calls a usage total or the call list covers."""
    return ModelCallFilters(
        subject_kind=subject_kind,
        subject_id=subject_id,
        model_name=model_name,
        model=model,
        status=status,
        created_gteq=created.gteq,
        created_lteq=created.lteq,
    )


CallFilters = Annotated[ModelCallFilters, Depends(call_filters)]


@router.get(PROVIDERS, response_model=Page[ModelProviderOut])
async def list_model_providers(
    session: DbSession,
    project: CurrentProject,
    filters: Annotated[ProviderFilters, Depends(provider_filters)],
    page: PageQuery,
) -> Page[ModelProviderOut]:
    """The project's model providers, oldest first."""
    rows, total = await service.list_providers(session, project, filters, page)
    return page_of([presenters.describe_provider(row) for row in rows], page, total)


@router.post(PROVIDERS, status_code=201, response_model=Envelope[ModelProviderOut])
async def create_model_provider(
    body: Annotated[ModelProviderCreate, Body(openapi_examples=examples.PROVIDER_BODY)],
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[ModelProviderOut]:
    """Register a provider (its API key is write-only)."""
    provider = await service.create_provider(session, project, resources, body.model_provider)
    return Envelope(data=presenters.describe_provider(provider))


@router.get(PROVIDERS + "/{provider_id}", response_model=Envelope[ModelProviderOut])
async def get_model_provider(
    provider_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[ModelProviderOut]:
    """One provider."""
    provider = await service.get_provider(session, project, provider_id)
    return Envelope(data=presenters.describe_provider(provider))


@router.patch(PROVIDERS + "/{provider_id}", response_model=Envelope[ModelProviderOut])
async def update_model_provider(
    provider_id: uuid.UUID,
    body: ModelProviderUpdate,
    session: DbSession,
    project: CurrentProject,
    resources: AppResources,
) -> Envelope[ModelProviderOut]:
    """Change the fields sent."""
    provider = await service.update_provider(
        session, project, resources, provider_id, body.model_provider
    )
    return Envelope(data=presenters.describe_provider(provider))


@router.delete(PROVIDERS + "/{provider_id}", status_code=204, response_class=Response)
async def delete_model_provider(
    provider_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Response:
    """Remove a provider that serves no model."""
    await service.delete_provider(session, project, provider_id)
    return Response(status_code=204)


@router.get(MODELS, response_model=Page[ProjectModelOut])
async def list_project_models(
    session: DbSession,
    project: CurrentProject,
    filters: Annotated[ProjectModelFilters, Depends(model_filters)],
    page: PageQuery,
) -> Page[ProjectModelOut]:
    """The project's models, oldest first."""
    rows, total = await service.list_models(session, project, filters, page)
    return page_of([presenters.describe_model(row) for row in rows], page, total)


@router.post(MODELS, status_code=201, response_model=Envelope[ProjectModelOut])
async def create_project_model(
    body: Annotated[ProjectModelCreate, Body(openapi_examples=examples.MODEL_BODY)],
    session: DbSession,
    project: CurrentProject,
) -> Envelope[ProjectModelOut]:
    """Register a model under the name flows and agents call it by."""
    model = await service.create_model(session, project, body.project_model)
    return Envelope(data=presenters.describe_model(model))


@router.get(MODELS + "/{model_id}", response_model=Envelope[ProjectModelOut])
async def get_project_model(
    model_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Envelope[ProjectModelOut]:
    """One model."""
    model = await service.get_model(session, project, model_id)
    return Envelope(data=presenters.describe_model(model))


@router.patch(MODELS + "/{model_id}", response_model=Envelope[ProjectModelOut])
async def update_project_model(
    model_id: uuid.UUID, body: ProjectModelUpdate, session: DbSession, project: CurrentProject
) -> Envelope[ProjectModelOut]:
    """Change the fields sent."""
    model = await service.update_model(session, project, model_id, body.project_model)
    return Envelope(data=presenters.describe_model(model))


@router.delete(MODELS + "/{model_id}", status_code=204, response_class=Response)
async def delete_project_model(
    model_id: uuid.UUID, session: DbSession, project: CurrentProject
) -> Response:
    """Remove a model (its recorded usage stays)."""
    await service.delete_model(session, project, model_id)
    return Response(status_code=204)


@router.get("/model_usage", response_model=Envelope[ModelUsageOut])
async def get_model_usage(
    session: DbSession, project: CurrentProject, filters: CallFilters
) -> Envelope[ModelUsageOut]:
    """Calls, tokens and cost of the project's model calls, in all and per model."""
    return Envelope(data=await service.model_usage(session, project, filters))


@router.get("/model_calls", response_model=Page[ModelCallOut])
async def list_model_calls(
    session: DbSession, project: CurrentProject, filters: CallFilters, page: PageQuery
) -> Page[ModelCallOut]:
    """The project's recorded model calls, newest first."""
    rows, total = await service.list_calls(session, project, filters, page)
    return page_of([presenters.describe_call(row) for row in rows], page, total)
