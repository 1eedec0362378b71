"""The ``threadline`` command.

The commands that run the app (``serve``, ``worker``, ``demo``, ``sandbox``,
``model-server``) import it
when they run, not at start: ``threadline users`` or ``projects`` then start in a third of
the time.
"""

from __future__ import annotations

import typer

from threadline.cli import agents, demo, projects, server, startup, users

app = typer.Typer(help="Threadline: WhatsApp automation you host yourself.", no_args_is_help=True)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"threadline {startup.threadline_version()}")
        raise typer.Exit()


@app.callback()
def main(
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Threadline: WhatsApp automation you host yourself."""


app.command("serve")(server.serve)
app.command("worker")(server.worker)
app.command("migrate")(server.migrate)
app.command("secret-key")(server.secret_key)
app.command("sandbox")(server.sandbox)
app.command("model-server")(server.model_server)
app.command("demo")(demo.demo)
app.add_typer(projects.app, name="projects")
app.add_typer(users.app, name="users")
app.add_typer(agents.app, name="agents")

if __name__ == "__main__":
    app()
