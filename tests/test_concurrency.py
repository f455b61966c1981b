"""Many workers on one PostgreSQL: concurrent decisions move a cycle exactly once.

Each worker is its own :class:`Database` (its own engine and connections) with its own core,
as two processes would be; the updates race in the database, not in Python. Skipped without
a PostgreSQL ``TEST_DATABASE_URL`` (on SQLite one process writes at a time).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text

from flows.core.messages import Inbound
from flows.core.router import Core
from storage.db import Database, is_sqlite
from storage.models import Base, Cycle, Event, Identity, Outbox, Worksheet
from tests.flowkit import SMALL_PEM, SMALL_PK, Chat, open_quarter, play, seed_small_office

URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not URL or is_sqlite(URL), reason="needs PostgreSQL in TEST_DATABASE_URL"
)

PLANNER, KASI = "102", "103"
TRIALS = 20


@pytest.fixture
async def workers(db: Database) -> AsyncIterator[list[Database]]:
    """Three more independent engines on the test database."""
    extra = [Database(db.url) for _ in range(3)]
    yield extra
    for d in extra:
        await d.dispose()


async def wipe(db: Database) -> None:
    """Empty every table (the schema stays): the next trial starts from nothing."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.transaction() as s:
        await s.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def filled_but_not_sent(db: Database) -> Chat:
    """A TW III cycle at its isi step with both sheets filled, each one tap from Kirim."""
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await play(chat, KASI, SMALL_PEM[:-1])
    await play(chat, PLANNER, SMALL_PK[:-1])
    return chat


async def at_rekap(db: Database) -> Chat:
    chat = await filled_but_not_sent(db)
    await chat.tap(KASI, "Kirim")
    await chat.tap(PLANNER, "Kirim")
    return chat


async def race(chat: Chat, engines: list[Database], *updates: Inbound) -> None:
    """Hand each update to its own worker's core, all at the same moment."""
    cores = [Core(d, chat.core.router, chat.clock) for d in engines]
    await asyncio.gather(*(c.handle(u) for c, u in zip(cores, updates, strict=False)))


async def counts(db: Database, *actions: str) -> dict[str, int]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(Event.action, func.count())
            .where(Event.action.in_(actions))
            .group_by(Event.action)
        )
        return {a: 0 for a in actions} | {a: n for a, n in rows.all()}


async def cycle_of(db: Database) -> Cycle:
    async with db.transaction() as s:
        return (await s.scalars(select(Cycle))).one()


async def sent_like(db: Database, words: str) -> int:
    async with db.transaction() as s:
        rows = await s.scalars(select(Outbox))
        return sum(1 for r in rows if words in r.payload.get("text", ""))


async def test_the_last_two_sheets_sent_at_once_move_the_cycle_exactly_once(db, workers):
    for trial in range(TRIALS):
        await wipe(db)
        chat = await filled_but_not_sent(db)
        kasi = await chat.button_token(KASI, "Kirim")
        planner = await chat.button_token(PLANNER, "Kirim")
        await race(
            chat,
            workers[:2],
            Inbound("telegram", KASI, f"k{trial}", button=kasi, message_ref="1"),
            Inbound("telegram", PLANNER, f"p{trial}", button=planner, message_ref="1"),
        )
        assert (await counts(db, "lembar.kirim"))["lembar.kirim"] == 2, trial
        cycle = await cycle_of(db)
        assert cycle.step == "olah_data", f"trial {trial}: stuck at {cycle.step}"
        assert await sent_like(db, "Rekap sementara") == 1, trial  # entered once


async def test_two_taps_of_one_card_from_three_workers_make_one_decision(db, workers):
    for trial in range(5):
        await wipe(db)
        chat = await at_rekap(db)
        before = (await cycle_of(db)).version
        token = await chat.button_token(PLANNER, "Teruskan")
        await race(
            chat,
            workers,
            *(
                Inbound("telegram", PLANNER, f"t{trial}{i}", button=token, message_ref="1")
                for i in range(3)
            ),
        )
        assert (await counts(db, "langkah.selesai"))["langkah.selesai"] == 1, trial
        cycle = await cycle_of(db)
        assert cycle.step != "olah_data" and cycle.version > before


async def test_a_return_from_the_rekap_racing_teruskan_one_wins_and_the_log_says_which(db, workers):
    winners = set()
    for trial in range(10):
        await wipe(db)
        chat = await at_rekap(db)
        await chat.tap(PLANNER, "Kembalikan lembar")
        await chat.tap(PLANNER, "PEM")  # now the reason is asked
        teruskan = await chat.button_token(PLANNER, "Teruskan")
        await race(
            chat,
            workers[:2],
            Inbound("telegram", PLANNER, f"r{trial}", text="PEM-2: angka desa belum sesuai"),
            Inbound("telegram", PLANNER, f"t{trial}", button=teruskan, message_ref="1"),
        )
        log = await counts(db, "lembar.kembalikan", "langkah.selesai")
        cycle = await cycle_of(db)
        async with db.transaction() as s:
            pem = (await s.scalars(select(Worksheet).order_by(Worksheet.id))).first()
        assert pem is not None
        assert sum(log.values()) == 1, (trial, log)
        if log["lembar.kembalikan"]:
            assert cycle.step == "sampaikan_data" and pem.status == "returned"
            winners.add("kembalikan")
        else:
            assert cycle.step != "olah_data" and pem.status == "submitted"
            winners.add("teruskan")
    assert winners  # which one wins is the database's choice; each trial has exactly one


# --- corrections after Kirim (Minta ubah) ---------------------------------------------------


async def correction_asked_at_rekap(db: Database) -> Chat:
    """At the rekap, Budi has asked to change PEM-2; the planner holds Izinkan / Tolak."""
    chat = await at_rekap(db)
    await play(chat, KASI, ["/isi", "tap:Minta ubah", "tap:PEM-2", "Register mencatat 8 desa"])
    return chat


async def test_izinkan_from_three_workers_reopens_the_entry_once(db, workers):
    for trial in range(5):
        await wipe(db)
        chat = await correction_asked_at_rekap(db)
        token = await chat.button_token(PLANNER, "Izinkan")
        await race(
            chat,
            workers,
            *(
                Inbound("telegram", PLANNER, f"z{trial}{i}", button=token, message_ref="1")
                for i in range(3)
            ),
        )
        assert (await counts(db, "lembar.ubah_diizinkan"))["lembar.ubah_diizinkan"] == 1, trial
        assert (await cycle_of(db)).step == "sampaikan_data", trial
        assert await sent_like(db, "diizinkan oleh Maya") == 1, trial


async def test_izinkan_racing_teruskan_of_the_rekap_one_wins(db, workers):
    outcomes = set()
    for trial in range(TRIALS // 2):
        await wipe(db)
        chat = await correction_asked_at_rekap(db)
        allow = await chat.button_token(PLANNER, "Izinkan")
        forward = await chat.button_token(PLANNER, "Teruskan")
        await race(
            chat,
            workers[:2],
            Inbound("telegram", PLANNER, f"a{trial}", button=allow, message_ref="1"),
            Inbound("telegram", PLANNER, f"f{trial}", button=forward, message_ref="1"),
        )
        n = await counts(db, "lembar.ubah_diizinkan", "langkah.selesai")
        cycle = await cycle_of(db)
        async with db.transaction() as s:
            status = await s.scalar(
                select(Worksheet.status)
                .join(Identity, Identity.person_id == Worksheet.person_id)
                .where(Identity.external_id == KASI)
            )
        if n["lembar.ubah_diizinkan"]:
            assert n["langkah.selesai"] == 0 and cycle.step == "sampaikan_data", trial
            assert status == "returned", trial
            outcomes.add("izinkan")
        else:
            assert n["langkah.selesai"] == 1 and cycle.step == "telaah_sekcam", trial
            assert status == "submitted", trial
            outcomes.add("teruskan")
    assert outcomes  # which one wins is up to the database (both were seen here)
