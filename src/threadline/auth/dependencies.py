"""FastAPI dependencies every endpoint uses: the request's transaction and its project."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service
from threadline.kit.resources import Resources
from threadline.models import Project


def get_resources(request: Request) -> Resources:
    """The process's shared resources."""
    resources: Resources = request.app.state.resources
    return resources


#: Methods that never change anything: their transaction is read-only.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction, committed before the response is sent.

    A GET or HEAD reads in a read-only transaction, which never waits for a writer
    (and fails loudly if an endpoint tries to write in it).
    """
    db = get_resources(request).db
    if request.method in READ_ONLY_METHODS:
        async with db.read() as session:
            yield session
        return
    async with db.transaction() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(transaction, scope="function")]
AppResources = Annotated[Resources, Depends(get_resources)]


#: Declares the ``X-API-Key`` scheme in the OpenAPI document (the docs' Authorize button).
#: ``auto_error=False``: a missing key reaches ``authenticate``, which answers our 401.
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A project API key (`tl_...`)."
)


async def current_project(
    request: Request,
    session: DbSession,
    x_api_key: Annotated[str | None, Depends(api_key_header)] = None,
) -> Project:
    """The project whose API key came in ``X-API-Key`` (named in the access log)."""
    caller = await service.authenticate(session, x_api_key)
    _note(request, caller)
    return caller.project


CurrentProject = Annotated[Project, Depends(current_project)]


def _note(request: Request, caller: service.Caller) -> None:
    request.state.project_id, request.state.user_id = caller.project.id, caller.user_id


def acting_user(request: Request, _project: CurrentProject) -> uuid.UUID | None:
    """The person the request's key was issued to (None for a project's own key)."""
    user_id: uuid.UUID | None = request.state.user_id
    return user_id


ActingUser = Annotated[uuid.UUID | None, Depends(acting_user)]


async def project_between_transactions(
    request: Request, x_api_key: Annotated[str | None, Depends(api_key_header)] = None
) -> Project:
    """The caller's project, read in a read-only session that ends at once: for endpoints
    that call Meta between two transactions of their own (no session held across I/O)."""
    async with get_resources(request).db.read() as session:
        caller = await service.authenticate(session, x_api_key)
        session.expunge(caller.project)
    _note(request, caller)
    return caller.project


OutsideProject = Annotated[Project, Depends(project_between_transactions)]
