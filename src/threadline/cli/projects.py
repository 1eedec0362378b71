"""``threadline projects``: create projects and their API keys."""

from __future__ import annotations

import asyncio
import json

import typer

from threadline.cli import startup
from threadline.config import get_settings
from threadline.kit import migrate as migrations
from threadline.kit.resources import Resources
from threadline.projects import service

app = typer.Typer(help="Manage projects.", no_args_is_help=True)


async def _create(name: str) -> tuple[str, str]:
    settings = get_settings()
    resources = Resources.create(settings)
    try:
        async with resources.db.transaction() as session:
            created = await service.create(session, resources.cipher, name=name)
    finally:
        await resources.close()
    return str(created.project.id), created.api_key


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="The project's name."),
    as_json: bool = typer.Option(False, "--json", help="Print {project_id, api_key} as JSON."),
) -> None:
    """Create a project and print its id and a new API key (shown this once)."""
    settings = get_settings()
    startup.require_secret_key_or_exit(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.resolved_database_url())
    project_id, api_key = asyncio.run(_create(name))
    if as_json:
        typer.echo(json.dumps({"project_id": project_id, "api_key": api_key}))
        return
    typer.echo(f"project_id: {project_id}")
    typer.echo(f"api_key:    {api_key}  (store it now: only its digest is kept)")
