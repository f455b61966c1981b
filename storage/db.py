"""Engine and session factory: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_inline import inline_sqlite


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    """Build the engine; for SQLite make the folder and set the pragmas on every connection."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Statements on the loop's thread, BEGIN on aiosqlite's (see storage.sqlite_inline).
        engine = create_async_engine(url, async_creator=inline_sqlite(database, timeout=30))
    else:
        engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so we can make it IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # A read that later writes would otherwise fail at once with "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engine plus a session factory; one per process and event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One short unit of work: commit on success, roll back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def keep(session: AsyncSession, *objects: object) -> None:
    """Hold ``objects`` for the rest of the unit of work.

    The session's identity map holds its objects weakly: a row loaded, used and dropped is
    garbage-collected, and the next ``session.get`` of it queries again. Kept ones are found.
    """
    session.info.setdefault("kept", []).extend(o for o in objects if o is not None)


def upsert(dialect: str, table: Table) -> PgInsert | SqliteInsert:
    """An ``INSERT`` into ``table`` that takes ``ON CONFLICT`` clauses, in ``dialect``'s form
    (PostgreSQL or SQLite). On the table: an ORM insert given parameters is a bulk insert."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
