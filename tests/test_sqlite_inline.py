"""storage.sqlite_inline: statements on the loop's thread, BEGIN waits on the driver's."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.migrate import upgrade
from storage.models import InboundSeen
from storage.sqlite_inline import InlineConnection, inline_sqlite

AT = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await upgrade(database.engine)
    yield database
    await database.dispose()


def _trace_threads(database: Database) -> list[tuple[str, int]]:
    """Every statement SQLite runs, with the thread that ran it (SQLite's own trace hook)."""
    seen: list[tuple[str, int]] = []

    @event.listens_for(database.engine.sync_engine, "connect")
    def _trace(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy's event signature
        raw = dbapi_conn._connection  # noqa: SLF001 - the adapted aiosqlite connection
        assert isinstance(raw, InlineConnection)
        raw._conn.set_trace_callback(  # noqa: SLF001 - the sqlite3 connection underneath
            lambda sql: seen.append((sql, threading.get_ident()))
        )

    return seen


async def test_statements_run_on_the_loop_thread_and_begin_on_the_driver_thread(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trace.db'}")
    try:
        seen = _trace_threads(database)
        async with database.engine.begin() as conn:
            await conn.run_sync(InboundSeen.metadata.create_all, tables=[InboundSeen.__table__])
        async with database.transaction() as s:
            s.add(InboundSeen(channel="t", key="1", at=AT))
            await s.flush()
            assert await s.scalar(select(func.count()).select_from(InboundSeen)) == 1
        loop_thread = threading.get_ident()
        begins = [t for sql, t in seen if sql.startswith("BEGIN")]
        others = [(sql, t) for sql, t in seen if not sql.startswith("BEGIN")]
        assert begins and all(t != loop_thread for t in begins)
        assert any(sql.startswith("INSERT INTO inbound_seen") for sql, _ in others)
        assert any(sql.startswith("SELECT count") for sql, _ in others)
        # PRAGMAs at connect go through the driver's thread with the connection itself
        assert all(t == loop_thread for sql, t in others if not sql.startswith("PRAGMA"))
    finally:
        await database.dispose()


async def test_a_held_write_lock_is_waited_for_without_stopping_the_loop(db: Database):
    path = db.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction

    async def write() -> None:
        async with db.transaction() as s:
            s.add(InboundSeen(channel="t", key="waited", at=AT))

    task = asyncio.create_task(write())
    turns = 0
    for _ in range(200):  # the loop keeps turning while the BEGIN waits on its own thread
        await asyncio.sleep(0)
        turns += 1
    assert turns == 200 and not task.done()
    holder.execute("INSERT INTO inbound_seen (channel, key, at) VALUES ('t', 'holder', '')")
    holder.execute("COMMIT")
    holder.close()
    await asyncio.wait_for(task, 30)
    async with db.transaction() as s:
        keys = set(await s.scalars(select(InboundSeen.key)))
    assert keys == {"holder", "waited"}


async def test_an_error_rolls_back_and_the_connection_stays_usable(db: Database):
    async with db.transaction() as s:
        s.add(InboundSeen(channel="t", key="k", at=AT))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(InboundSeen(channel="t", key="new", at=AT))
            await s.flush()
            s.add(InboundSeen(channel="t", key="k", at=AT))  # the same primary key
            await s.flush()
    async with db.transaction() as s:
        keys = list(await s.scalars(select(InboundSeen.key)))
    assert keys == ["k"]  # "new" rolled back with the failed transaction


async def test_concurrent_units_of_work_in_one_process_all_commit(db: Database):
    async def write(i: int) -> None:
        async with db.transaction() as s:
            s.add(InboundSeen(channel="c", key=str(i), at=AT))
            await s.flush()
            await asyncio.sleep(0)  # hand the loop over while holding the write lock
            s.add(InboundSeen(channel="c", key=f"{i}b", at=AT))

    await asyncio.gather(*(write(i) for i in range(20)))
    async with db.transaction() as s:
        n = await s.scalar(select(func.count()).select_from(InboundSeen))
    assert n == 40


async def test_a_call_behind_a_waiting_begin_queues_behind_it(tmp_path: Path):
    """While a BEGIN waits on aiosqlite's thread (its caller may even have been cancelled),
    the next call on that connection must not run beside it on the loop's thread: it queues.
    (Run inline, a close there freed the connection under the thread: SIGSEGV at shutdown.)"""
    path = str(tmp_path / "q.db")
    sqlite3.connect(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    conn = await inline_sqlite(path, timeout=30, isolation_level=None)()
    try:
        begin = asyncio.create_task(conn.execute("BEGIN IMMEDIATE"))
        for _ in range(50):
            await asyncio.sleep(0)
        select_one = asyncio.create_task(conn.execute("SELECT 1"))
        for _ in range(200):
            await asyncio.sleep(0)
        assert not begin.done() and not select_one.done()
        holder.execute("COMMIT")
        await asyncio.wait_for(asyncio.gather(begin, select_one), 30)
        await conn.execute("COMMIT")
        assert conn._on_thread.pending == 0  # noqa: SLF001 - the count of calls on the thread
        cursor = await conn.execute("SELECT 2")
        assert await cursor.fetchone() == (2,)  # idle again: inline
    finally:
        holder.close()
        await conn.close()
