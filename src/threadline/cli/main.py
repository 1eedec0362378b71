"""The ``threadline`` command."""

from __future__ import annotations

import typer

from threadline.cli import demo, projects, server

app = typer.Typer(help="Threadline: WhatsApp automation you host yourself.", no_args_is_help=True)
app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.command("migrate")(server.migrate)
app.command("sandbox")(server.sandbox)
app.command("demo")(demo.demo)
app.add_typer(projects.app, name="projects")

if __name__ == "__main__":
    app()
