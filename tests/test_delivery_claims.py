"""Outbox rows claimed, not shared: several delivery loops on one database send every message
exactly once and each chat in order; a dead worker's claims are taken over after the lease."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from bot.workers.delivery import LEASE, Delivery, DeliveryJob
from storage.db import Database, is_sqlite
from storage.models import Outbox
from tests.flowkit import FakeClock

START = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
URL = os.environ.get("TEST_DATABASE_URL", "")
needs_postgres = pytest.mark.skipif(
    not URL or is_sqlite(URL), reason="needs PostgreSQL in TEST_DATABASE_URL"
)


class Recorder:
    """One 'Bot API' shared by every worker: records each send in the order it happened."""

    def __init__(self, seed: int = 1) -> None:
        self.sent: list[tuple[str, int]] = []
        self.rng = random.Random(seed)

    async def send(self, job: DeliveryJob) -> str:
        await asyncio.sleep(self.rng.random() * 0.002)  # let the workers interleave
        self.sent.append((job.address, int(job.text)))
        return str(len(self.sent))


async def fill(db: Database, chats: int, per_chat: int) -> int:
    """``per_chat`` numbered messages to each chat, interleaved as a fan-out would be."""
    rows = [
        {
            "dedupe_key": f"uji:{chat}:{n}",
            "channel": "telegram",
            "address": str(9000 + chat),
            "payload": {"text": str(n)},
            "created_at": START,
        }
        for n in range(per_chat)
        for chat in range(chats)
    ]
    async with db.transaction() as s:
        await s.execute(insert(Outbox), rows)
    return len(rows)


async def pending(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).where(Outbox.status == "pending")) or 0)


def assert_once_and_in_order(sent: list[tuple[str, int]], chats: int, per_chat: int) -> None:
    assert len(sent) == len(set(sent)) == chats * per_chat  # exactly once
    by_chat: dict[str, list[int]] = {}
    for address, n in sent:
        by_chat.setdefault(address, []).append(n)
    assert all(ns == list(range(per_chat)) for ns in by_chat.values())  # in order


async def run_workers(workers: list[Delivery], db: Database) -> None:
    async def loop(worker: Delivery) -> None:
        while await pending(db):
            if not await worker.drain():
                await asyncio.sleep(0.005)

    await asyncio.wait_for(asyncio.gather(*(loop(w) for w in workers)), timeout=120)


@needs_postgres
@pytest.mark.parametrize("n", [2, 3])
async def test_n_delivery_loops_send_each_message_once_and_each_chat_in_order(db, n):
    chats, per_chat = 40, 12
    await fill(db, chats, per_chat)
    api = Recorder(seed=n)
    clock = FakeClock(START)
    engines = [Database(db.url) for _ in range(n)]
    try:
        workers = [
            Delivery(e, {"telegram": api}, clock, concurrency=4, batch=7, worker=f"w{i}")
            for i, e in enumerate(engines)
        ]
        await run_workers(workers, db)
    finally:
        for e in engines:
            await e.dispose()
    assert_once_and_in_order(api.sent, chats, per_chat)
    async with db.transaction() as s:
        rows = list(await s.scalars(select(Outbox)))
    assert {r.status for r in rows} == {"sent"} and {r.claimed_by for r in rows} == {""}
    assert all(r.attempts == 1 and r.external_message_id for r in rows)


async def test_a_dead_workers_claims_are_taken_over_after_the_lease(db):
    await fill(db, chats=3, per_chat=2)
    clock = FakeClock(START)
    api = Recorder()
    dead = Delivery(db, {"telegram": api}, clock, worker="dead")
    claimed = await dead.claim()  # ... and the process dies before sending
    assert sorted(int(r.address) for r, _ in claimed) == [9000, 9001, 9002]
    other = Database(db.url)
    try:
        alive = Delivery(other, {"telegram": api}, clock, worker="alive")
        assert await alive.drain() == 0  # every chat is held by a live lease
        clock.advance(seconds=LEASE.total_seconds() - 1)
        assert await alive.drain() == 0 and api.sent == []
        clock.advance(seconds=1)
        assert await alive.drain() == 6
    finally:
        await other.dispose()
    assert_once_and_in_order(api.sent, 3, 2)


async def test_a_late_worker_cannot_mark_rows_another_took_over(db):
    """The dead worker wakes after its lease was taken over: its marks change nothing."""
    await fill(db, chats=1, per_chat=1)
    clock = FakeClock(START)
    api = Recorder()
    late = Delivery(db, {"telegram": api}, clock, worker="late")
    assert len(await late.claim()) == 1
    clock.advance(seconds=LEASE.total_seconds())
    taker = Delivery(db, {"telegram": api}, clock, worker="taker")
    taker_claim = await taker.claim()
    assert len(taker_claim) == 1
    assert await late.claim() == []  # the chat is the taker's now
    assert await late.drain() == 0
    assert await taker.drain() == 0  # its claim is live: it sends from its own claim only
    async with db.transaction() as s:
        row = (await s.scalars(select(Outbox))).one()
    assert row.claimed_by == "taker" and row.status == "pending"


async def test_a_leased_head_holds_back_the_rest_of_its_chat(db):
    await fill(db, chats=2, per_chat=3)
    clock = FakeClock(START)
    api = Recorder()
    holder = Delivery(db, {"telegram": api}, clock, worker="holder", batch=1)
    [(row, _)] = await holder.claim()
    assert row.address == "9000"
    other = Delivery(db, {"telegram": api}, clock, worker="other")
    while await other.drain():
        pass
    assert [a for a, _ in api.sent] == ["9001"] * 3  # chat 9000 waits for its head


async def test_a_restarted_process_frees_the_claims_of_dead_workers_at_once(db):
    """No wait for the lease after a restart: a dead process of this host (on SQLite: any
    other worker) loses its claims at start-up; a worker elsewhere keeps them till expiry."""
    await fill(db, chats=2, per_chat=1)
    clock = FakeClock(START)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_here = f"{socket.gethostname()[:30]}:{gone.stdout.strip()}:abc"
    elsewhere = "another-host:1:abc"
    api = Recorder()
    for name in (dead_here, elsewhere):
        assert len(await Delivery(db, {"telegram": api}, clock, worker=name, batch=1).claim()) == 1
    restarted = Delivery(db, {"telegram": api}, clock)
    await restarted.release_orphans()
    assert await restarted.drain() == (2 if is_sqlite(db.url) else 1)


async def test_an_unforeseen_error_backs_one_row_off_and_the_batch_is_still_marked(db):
    await fill(db, chats=3, per_chat=1)
    clock = FakeClock(START)
    api = Recorder()
    real_send = api.send

    async def send(job: DeliveryJob) -> str:
        if job.address == "9001":
            raise ValueError("a bug")
        return await real_send(job)

    api.send = send  # type: ignore[method-assign]
    delivery = Delivery(db, {"telegram": api}, clock, concurrency=3)
    assert await delivery.drain() == 2
    async with db.transaction() as s:
        rows = {r.address: r for r in await s.scalars(select(Outbox))}
    assert rows["9000"].status == rows["9002"].status == "sent"
    assert rows["9001"].status == "pending" and rows["9001"].not_before is not None
    assert {r.claimed_by for r in rows.values()} == {""}
