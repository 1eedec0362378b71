"""``threadline agents``: list a project's agents and chat with one in the terminal.

Thin over the HTTP API (:mod:`threadline.cli.api_client`): ``chat`` is a test chat, the
same runtime as on WhatsApp with nothing sent to anyone.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from threadline.cli.api_client import ApiClient, ApiError, default_api_key, default_url

app = typer.Typer(help="Chat with agents over a running server's API.", no_args_is_help=True)
URL = typer.Option(None, "--url", help="The server (default: THREADLINE_HOST/PORT's).")
API_KEY = typer.Option(
    None, "--api-key", help="The project's key (or THREADLINE_API_KEY; default: serve's key file)."
)
QUIT = ("/quit", "/exit")
PROMPT = "you   > "


def _client(url: str | None, api_key: str | None) -> ApiClient:
    key = api_key or default_api_key()
    if not key:
        typer.echo("No API key: pass --api-key or set THREADLINE_API_KEY.", err=True)
        raise typer.Exit(2)
    return ApiClient.connect(url or default_url(), key)


@app.command("list")
def list_agents(url: str | None = URL, api_key: str | None = API_KEY) -> None:
    """Print the project's agents: id, version and name, one a line."""
    client = _client(url, api_key)
    try:
        for agent in client.agents():
            typer.echo(f"{agent['id']}  v{agent['agent_version']}  {agent['name']}")
    except ApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        client.close()


@app.command("chat")
def chat(
    agent_id: str = typer.Argument(..., help="The agent's id (see `threadline agents list`)."),
    snapshot: str | None = typer.Option(None, "--snapshot", help="Chat with this snapshot."),
    url: str | None = URL,
    api_key: str | None = API_KEY,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait for each answer."),
) -> None:
    """Chat with an agent: type a line, read its answer; /quit, Ctrl-D or Ctrl-C ends."""
    client = _client(url, api_key)
    typer.echo("Chatting with the agent (a test chat: nothing is sent on WhatsApp). /quit ends.")
    try:
        code = _converse(client, agent_id, snapshot, timeout)
    except KeyboardInterrupt:
        code = 0
    finally:
        client.close()
    raise typer.Exit(code)


def _converse(client: ApiClient, agent_id: str, snapshot: str | None, timeout: float) -> int:
    """Read lines until the user leaves or the chat can take no more; the exit code."""
    chat_id: str | None = None
    seen = 0
    while (line := _read()) is not None:
        if not line:
            continue
        try:
            sent = client.send(agent_id, line, chat_id=chat_id, snapshot=snapshot)
            chat_id, seen = sent["id"], len(sent["conversation"])
            settled = client.settled_chat(chat_id, timeout=timeout)
        except ApiError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
        seen = _show(settled["conversation"], seen)
        if (code := _ending(settled)) is not None:
            return code
    return 0


def _read() -> str | None:
    """The user's next line, or ``None`` when they leave (EOF or ``/quit``)."""
    interactive = sys.stdin.isatty()
    try:
        line = input(PROMPT if interactive else "").strip()
    except EOFError:
        if interactive:
            typer.echo()
        return None
    if not interactive:
        typer.echo(PROMPT + line)  # piped input: the transcript still shows what was said
    return None if line in QUIT else line


def _show(conversation: list[dict[str, Any]], seen: int) -> int:
    """Print the agent's messages after the first ``seen``; how many there are now."""
    for message in conversation[seen:]:
        if message["role"] == "assistant":
            typer.echo(f"agent > {message['content']}")
    return len(conversation)


def _ending(chat: dict[str, Any]) -> int | None:
    """Say why the chat cannot go on (the exit code), or ``None`` while the agent waits."""
    if chat["status"] == "error":
        typer.echo(f"[error] the agent failed: {chat.get('error') or 'unknown error'}", err=True)
        return 1
    if chat.get("waiting_for") == "people":
        typer.echo("[handoff] the agent handed the conversation to a person.")
        return 0
    if chat.get("waiting_for") is None:
        typer.echo("[ended] the agent ended the conversation.")
        return 0
    return None
