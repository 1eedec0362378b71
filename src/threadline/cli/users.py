"""``threadline users``: the people of a project, who conversations are assigned to."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.cli import startup
from threadline.config import get_settings
from threadline.errors import AppError
from threadline.kit import migrate as migrations
from threadline.kit.resources import Resources
from threadline.models import User
from threadline.projects import repository as projects
from threadline.users import service

app = typer.Typer(help="Manage a project's users.", no_args_is_help=True)
T = TypeVar("T")
PROJECT = typer.Option(..., "--project", help="The project's id.")
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


def _shown(user: User) -> dict[str, str]:
    return {"id": str(user.id), "email": user.email, "name": user.name}


async def _in_project(
    project_id: str, work: Callable[[AsyncSession, uuid.UUID], Awaitable[T]]
) -> T:
    resources = Resources.create(get_settings())
    try:
        async with resources.db.transaction() as session:
            project = await projects.get(session, uuid.UUID(project_id))
            if project is None:
                raise AppError(f"no project {project_id}: see `threadline projects create`")
            return await work(session, project.id)
    finally:
        await resources.close()


def _run(project_id: str, work: Callable[[AsyncSession, uuid.UUID], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction of the project; a rule it breaks exits with code 1."""
    settings = get_settings()
    startup.require_secret_key_or_exit(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.resolved_database_url())
    try:
        uuid.UUID(project_id)
    except ValueError:
        typer.echo(f"error: --project {project_id!r} is not a project id", err=True)
        raise typer.Exit(1) from None
    try:
        return asyncio.run(_in_project(project_id, work))
    except AppError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None


@app.command("create")
def create(
    project: str = PROJECT,
    email: str = typer.Option(..., "--email", help="The user's email (unique in the project)."),
    name: str = typer.Option(..., "--name", help="The user's name."),
    as_json: bool = AS_JSON,
) -> None:
    """Add a user to the project and print its id (the ``user_id`` of assignments)."""
    user = _run(project, lambda s, p: service.create(s, p, email=email, name=name))
    typer.echo(json.dumps(_shown(user)) if as_json else f"user_id: {user.id}  ({user.email})")


@app.command("list")
def list_users(project: str = PROJECT, as_json: bool = AS_JSON) -> None:
    """The project's users."""
    users = _run(project, service.listed)
    if as_json:
        typer.echo(json.dumps([_shown(user) for user in users]))
        return
    for user in users:
        typer.echo(f"{user.id}  {user.email}  {user.name}")


@app.command("key")
def key(
    project: str = PROJECT,
    user: str = typer.Option(..., "--user", help="The user's id or email."),
    name: str = typer.Option("personal", "--name", help="A name for the key."),
    as_json: bool = AS_JSON,
) -> None:
    """Issue an API key to a user: what it creates (an assignment) is shown as theirs."""
    owner, api_key = _run(project, lambda s, p: service.issue_user_key(s, p, user, name=name))
    if as_json:
        typer.echo(json.dumps({"user_id": str(owner.id), "api_key": api_key}))
        return
    typer.echo(f"api_key: {api_key}  (issued to {owner.email}; shown once, stored hashed)")


@app.command("remove")
def remove(
    project: str = PROJECT,
    user: str = typer.Option(..., "--user", help="The user's id or email."),
) -> None:
    """Remove a user and revoke their API keys (refused while it holds conversations)."""
    removed = _run(project, lambda s, p: service.remove(s, p, user))
    typer.echo(f"removed: {removed.id}  ({removed.email})")
