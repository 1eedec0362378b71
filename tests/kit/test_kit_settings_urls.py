"""Database URLs in the forms people write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadline.config import Settings


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgres://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("sqlite:///data/app.db", "sqlite+aiosqlite:///data/app.db"),
        ("sqlite+aiosqlite:///data/app.db", "sqlite+aiosqlite:///data/app.db"),
    ],
)
def test_database_urls_use_the_async_drivers(given: str, resolved: str) -> None:
    assert Settings(database_url=given).resolved_database_url() == resolved


def test_the_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = Settings(database_url="", data_dir=tmp_path).resolved_database_url()
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'threadline.db'}"
