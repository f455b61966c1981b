"""Alembic stairway: every revision upgrades, downgrades one step and upgrades again; the
migrated schema has the models' constraint names (SQLite, and PostgreSQL with TEST_DATABASE_URL).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import Database, is_sqlite
from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base
from tests.conftest import reset_postgres


def revisions() -> list[Script]:
    """Every revision, oldest first."""
    return list(reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())))


def schema_names(conn: Connection) -> dict[str, Any]:
    """Per table: the names of its primary key, foreign keys, unique constraints and indexes."""
    insp = inspect(conn)
    names: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        names[table] = {
            "pk": insp.get_pk_constraint(table)["name"],
            "fk": sorted(str(fk["name"]) for fk in insp.get_foreign_keys(table)),
            "uq": sorted(str(uq["name"]) for uq in insp.get_unique_constraints(table)),
            "ix": sorted(
                str(ix["name"])
                for ix in insp.get_indexes(table)
                if "duplicates_constraint" not in ix  # PostgreSQL: a unique constraint's index
            ),
        }
    return names


async def test_the_revisions_form_one_line():
    scripts = revisions()
    assert [s.down_revision for s in scripts] == [None] + [s.revision for s in scripts[:-1]]
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [scripts[-1].revision]


@pytest.mark.parametrize("script", revisions(), ids=lambda s: s.revision)
async def test_stairway(db_url: str, script: Script):
    """Up to the revision, one step down, up again (the revisions before it, too)."""
    db = Database(db_url)
    try:
        for before in revisions():
            await upgrade(db.engine, before.revision)
            if before.revision == script.revision:
                break
        await downgrade(db.engine, str(script.down_revision or "base"))
        await upgrade(db.engine, script.revision)
        await downgrade(db.engine, "base")
        async with db.engine.connect() as conn:
            assert await conn.run_sync(schema_names) == {}  # downgrade removes everything
    finally:
        await db.dispose()


async def test_migrated_schema_has_the_models_constraint_names(db_url: str):
    migrated = Database(db_url)
    try:
        await upgrade(migrated.engine)
        async with migrated.engine.connect() as conn:
            from_migrations = await conn.run_sync(schema_names)
    finally:
        await migrated.dispose()
    if not is_sqlite(db_url):
        await reset_postgres(db_url)
    with tempfile.TemporaryDirectory() as tmp:
        url = db_url if not is_sqlite(db_url) else f"sqlite+aiosqlite:///{Path(tmp) / 'm.db'}"
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
                from_models = await conn.run_sync(schema_names)
        finally:
            await engine.dispose()
    assert from_migrations == from_models
    assert_conventional(from_models)


def assert_conventional(names: dict[str, Any]) -> None:
    """Every constraint is named by the convention (none left to the database to name)."""
    for table, kinds in names.items():
        assert kinds["pk"] == f"pk_{table}"
        assert all(n.startswith(f"fk_{table}_") for n in kinds["fk"])
        assert all(n.startswith(f"uq_{table}_") for n in kinds["uq"])
        assert all(n.startswith(f"ix_{table}_") for n in kinds["ix"])


async def test_a_database_made_before_the_convention_upgrades_to_its_names(
    db_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Migrated to 0002 by the code before the naming convention (data in it), then to head."""
    db = Database(db_url)
    try:
        with monkeypatch.context() as m:
            m.setattr(Base.metadata, "naming_convention", {"ix": "ix_%(column_0_label)s"})
            await upgrade(db.engine, "0002")
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO office (code, nama, kabupaten, alamat, kota_ttd, tz, preset,"
                    " tahun, settings) VALUES ('k', 'K', '', '', '', 'Asia/Jakarta', 'p', 2026,"
                    " '{}')"
                )
            )
            old = await conn.run_sync(schema_names)
        await upgrade(db.engine)
        async with db.engine.connect() as conn:
            new = await conn.run_sync(schema_names)
            assert (await conn.execute(text("SELECT code FROM office"))).scalar_one() == "k"
    finally:
        await db.dispose()
    assert old["office"]["pk"] != "pk_office"  # the old names really were not the convention's
    if not is_sqlite(db_url):  # SQLite cannot rename constraints; PostgreSQL gets the names
        assert_conventional(new)
