"""HTTP routes for projects."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from threadline.auth.dependencies import CurrentProject
from threadline.kit.schemas import Envelope
from threadline.projects import service
from threadline.projects.schemas import ProjectOut

router = APIRouter(tags=["Projects"])


@router.get("/projects/{project_id}", response_model=Envelope[ProjectOut])
async def get_project(project_id: uuid.UUID, project: CurrentProject) -> Envelope[ProjectOut]:
    """Details of the caller's project."""
    found = service.get_own(project, project_id)
    return Envelope(data=ProjectOut.model_validate(found))
