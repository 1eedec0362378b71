"""Flows: authoring (create, edit, activate) and loading the definitions executions run on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import NotFound, Unprocessable
from threadline.flows import repository
from threadline.flows.definition import FlowDefinition, parse_stored, validate_definition
from threadline.flows.schemas import FlowCreateFields, FlowFields
from threadline.kit.clock import utcnow
from threadline.kit.schemas import PageParams
from threadline.models import Flow, FlowVersion, Project

_DEFINITIONS: dict[uuid.UUID, FlowDefinition] = {}
_CACHE_SIZE = 1024


class FlowNotFound(NotFound):
    """The flow does not exist in this project."""

    error = "Flow not found"


async def create(session: AsyncSession, project: Project, fields: FlowCreateFields) -> Flow:
    """Create a flow, in draft unless told otherwise, with its first version if given one."""
    definition = _validated(fields.definition)
    now = utcnow()
    flow = Flow(
        id=uuid.uuid4(),
        project_id=project.id,
        name=fields.name,
        description=fields.description,
        status="draft",
        execution_count=0,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, flow)
    if definition is not None:
        await _add_version(session, flow, definition)
    _set_status(flow, fields.status)
    await session.flush()
    return flow


async def update(
    session: AsyncSession, project: Project, flow_id: uuid.UUID, fields: FlowFields
) -> Flow:
    """Edit a flow. A new definition becomes a new version; running executions keep theirs.

    The flow row is locked first, so concurrent edits each get the next version number.
    """
    flow = await get(session, project, flow_id, for_update=True)
    definition = _validated(fields.definition)
    if fields.name is not None:
        flow.name = fields.name
    if "description" in fields.model_fields_set:
        flow.description = fields.description
    if definition is not None:
        await _add_version(session, flow, definition)
    _set_status(flow, fields.status)
    flow.updated_at = utcnow()
    await session.flush()
    return flow


def _validated(raw: dict[str, object] | None) -> FlowDefinition | None:
    return None if raw is None else validate_definition(raw)


def _set_status(flow: Flow, status: str | None) -> None:
    if status is None:
        return
    if status == "active" and flow.current_version_id is None:
        raise Unprocessable("A flow needs a definition before it can be activated")
    flow.status = status


async def _add_version(session: AsyncSession, flow: Flow, definition: FlowDefinition) -> None:
    version = FlowVersion(
        id=uuid.uuid4(),
        project_id=flow.project_id,
        flow_id=flow.id,
        number=await repository.next_version_number(session, flow.id),
        definition=definition.to_json(),
        created_at=utcnow(),
    )
    repository.add(session, version)
    flow.current_version_id = version.id
    _remember(version.id, definition)


async def get(
    session: AsyncSession, project: Project, flow_id: uuid.UUID, *, for_update: bool = False
) -> Flow:
    """A flow of ``project`` (row-locked if ``for_update``); :class:`FlowNotFound` for any other."""
    flow = await repository.get(session, project.id, flow_id, for_update=for_update)
    if flow is None:
        raise FlowNotFound()
    return flow


async def find(session: AsyncSession, project_id: uuid.UUID, flow_id: uuid.UUID) -> Flow | None:
    """A flow by id within a project, or None (for jobs, which know the project)."""
    return await repository.get(session, project_id, flow_id)


async def list_flows(
    session: AsyncSession, project: Project, *, status: str | None, page: PageParams
) -> tuple[list[Flow], int]:
    """A page of the project's flows, optionally filtered by status, and the total count."""
    return await repository.list_for(session, project.id, status, page)


async def record_execution(session: AsyncSession, flow: Flow, now: datetime) -> None:
    """Count an execution started now."""
    await repository.record_execution(session, flow.id, now)


async def current_version(session: AsyncSession, flow: Flow) -> FlowVersion | None:
    """The version new executions of ``flow`` start on."""
    if flow.current_version_id is None:
        return None
    return await repository.get_version(session, flow.current_version_id)


async def load_definition(session: AsyncSession, version_id: uuid.UUID) -> FlowDefinition:
    """The parsed definition of a version; versions never change, so they are cached.

    Parsed, not re-validated: a version keeps running under the rules it was saved with.
    """
    cached = _DEFINITIONS.get(version_id)
    if cached is not None:
        return cached
    version = await repository.get_version(session, version_id)
    if version is None:
        raise FlowNotFound(f"Flow version {version_id} does not exist")
    definition = parse_stored(version.definition)
    _remember(version_id, definition)
    return definition


def _remember(version_id: uuid.UUID, definition: FlowDefinition) -> None:
    if len(_DEFINITIONS) >= _CACHE_SIZE:
        _DEFINITIONS.pop(next(iter(_DEFINITIONS)))
    _DEFINITIONS[version_id] = definition
