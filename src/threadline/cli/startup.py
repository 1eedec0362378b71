"""What every long-running command does first: check the key, say what it runs on."""

from __future__ import annotations

import hashlib
import logging
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer
from sqlalchemy.engine import URL, make_url

from threadline.config import Settings
from threadline.kit.crypto import SecretKeyMissing, key_source, require_secret_key
from threadline.kit.migrate import AppliedMigration

log = logging.getLogger("threadline.cli")

API_KEY_FILE = "default-api-key"


def threadline_version() -> str:
    """The installed package's version."""
    try:
        return version("threadline")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def require_secret_key_or_exit(settings: Settings) -> None:
    """Stop the command with a clear message if the database needs an explicit key."""
    try:
        require_secret_key(settings)
    except SecretKeyMissing as missing:
        typer.echo(f"error: {missing}", err=True)
        raise typer.Exit(code=2) from None


def database_url(settings: Settings) -> URL:
    """The configured database URL, parsed."""
    return make_url(settings.resolved_database_url())


def describe_database(settings: Settings) -> str:
    """The database as a start line shows it: backend and name, never the password."""
    url = database_url(settings)
    plain = url.set(drivername=url.get_backend_name())
    return plain.render_as_string(hide_password=True)


def api_key_file(settings: Settings) -> Path:
    """Where ``serve`` saves the default project's API key: one file per database.

    Named after the database (its file or database name) plus a short digest of
    where it is, so two databases served from one folder never share a file.
    """
    url = database_url(settings)
    if url.get_backend_name() == "sqlite":
        where = str(Path(url.database or "memory").resolve())
        name = Path(where).stem
    else:
        where = url.set(password=None).render_as_string()
        name = url.database or url.get_backend_name()
    digest = hashlib.sha256(where.encode()).hexdigest()[:8]
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    return settings.data_dir / f"{API_KEY_FILE}.{label}-{digest}"


def log_start(role: str, settings: Settings, *details: str) -> None:
    """One line saying what this process is and what it runs on."""
    parts = [f"database {describe_database(settings)}", *details]
    parts.append(f"secret key from {key_source(settings)}")
    log.info("Threadline %s %s starting: %s", threadline_version(), role, ", ".join(parts))


def report_migrations(settings: Settings, applied: list[AppliedMigration]) -> None:
    """Print what a migration run applied, or that there was nothing to apply."""
    where = describe_database(settings)
    if not applied:
        typer.echo(f"Database {where} is up to date.")
        return
    plural = "" if len(applied) == 1 else "s"
    typer.echo(f"Applied {len(applied)} migration{plural} to {where}:")
    for migration in applied:
        typer.echo(f"  {migration.revision}  {migration.description}")
