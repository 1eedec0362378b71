"""HTTP routes for functions (Threadline's own: HTTP endpoints, not hosted code)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from threadline.auth.dependencies import AppResources, CurrentProject, DbSession
from threadline.functions import service
from threadline.functions.schemas import FunctionCreate, FunctionOut
from threadline.kit.schemas import Envelope
from threadline.models import Function

router = APIRouter(tags=["Functions"])


def _out(function: Function) -> FunctionOut:
    return FunctionOut(
        id=function.id,
        name=function.name,
        slug=function.slug,
        description=function.description,
        endpoint_url=function.url,
        project_id=function.project_id,
        created_at=function.created_at,
        updated_at=function.updated_at,
    )


@router.get("/functions", response_model=Envelope[list[FunctionOut]])
async def list_functions(
    session: DbSession, project: CurrentProject
) -> Envelope[list[FunctionOut]]:
    """The project's functions."""
    return Envelope(data=[_out(f) for f in await service.list_functions(session, project)])


@router.post("/functions", status_code=201, response_model=Envelope[FunctionOut])
async def create_function(
    body: FunctionCreate, session: DbSession, project: CurrentProject, resources: AppResources
) -> Envelope[FunctionOut]:
    """Register a function endpoint and its signing secret."""
    function = await service.create(session, project, resources.cipher, body.function)
    return Envelope(data=_out(function))


@router.get("/functions/{ref}", response_model=Envelope[FunctionOut])
async def get_function(
    ref: str, session: DbSession, project: CurrentProject
) -> Envelope[FunctionOut]:
    """One function, by id or slug."""
    return Envelope(data=_out(await service.get(session, project.id, ref)))


@router.delete("/functions/{ref}", status_code=204)
async def delete_function(ref: str, session: DbSession, project: CurrentProject) -> Response:
    """Remove a function."""
    await service.delete(session, project, ref)
    return Response(status_code=204)
