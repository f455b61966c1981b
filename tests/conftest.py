"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL via TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from bot.offline.emulator import BotApiEmulator
from storage.db import Database, is_sqlite
from storage.migrate import upgrade
from tests.botproc import TOKEN

SAMPLE_OFFICE = Path(__file__).resolve().parent.parent / "examples" / "sukamaju.yaml"


def database_url(tmp_path: Path) -> str:
    """SQLite in the test's folder by default; PostgreSQL when TEST_DATABASE_URL is set."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


async def reset_postgres(url: str) -> None:
    """Start from an empty schema, so each test sees a fresh database."""
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await db.dispose()


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = database_url(tmp_path)
    if not is_sqlite(url):
        await reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file brought to head by the migrations once per session (each test copies it)."""
    path = tmp_path_factory.mktemp("schema") / "migrated.db"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(database.engine)
        await database.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
async def db(db_url: str, migrated_sqlite: Path) -> AsyncIterator[Database]:
    if is_sqlite(db_url):
        target = make_url(db_url).database
        assert target
        shutil.copyfile(migrated_sqlite, target)
    database = Database(db_url)
    if not is_sqlite(db_url):
        await upgrade(database.engine)
    yield database
    await database.dispose()


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    """The local Bot API emulator the end-to-end tests' bot process talks to."""
    emulator = BotApiEmulator(token=TOKEN, bot_username="kinerja_uji_bot")
    await emulator.start()
    yield emulator
    await emulator.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs the bot or the demo as a separate process")
