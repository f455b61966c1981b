"""Work claimed, not shared: inbox rows and document jobs taken with a lease by one worker at a
time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), per-chat order of the inbox, a dead worker's
claims taken over when its lease expires, and one Telegram poller per database."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.failures import ExitCode, Failure
from bot.poller_guard import LEASE_TTL, PollerGuard
from bot.workers import documents as documents_worker
from bot.workers.documents import DocumentWorker
from bot.workers.inbox import InboxWorker
from handlers.telegram_intake import chat_of, store_updates
from storage import inbox
from storage.db import Database, is_sqlite
from storage.models import DocumentJob, InboxItem, StoredFile
from tests.flowkit import FakeClock
from tests.test_documents import START, ask, job_row, office  # noqa: F401  # fixture
from tests.test_inbox import rows, text_update

URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark_pg = pytest.mark.skipif(
    not URL or is_sqlite(URL), reason="needs PostgreSQL in TEST_DATABASE_URL"
)


def clock() -> FakeClock:
    return FakeClock(datetime(2026, 10, 5, tzinfo=UTC))


def callback(update_id: int, user: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {"id": str(update_id), "from": {"id": user}, "data": "x"},
    }


def test_the_chat_of_an_update_is_its_sender():
    assert chat_of(text_update(1, 77, "a")) == "77"
    assert chat_of(text_update(1, 77, "a", edited=True)) == "77"
    assert chat_of(callback(2, 88)) == "88"
    assert chat_of({"update_id": 3, "poll": {}}) is None


async def test_only_a_chats_oldest_pending_row_is_claimed_and_a_claim_excludes_others(db):
    now = clock()
    await store_updates(
        db,
        now,
        [text_update(1, 7, "a"), text_update(2, 7, "b"), text_update(3, 8, "c"), {"update_id": 4}],
    )
    async with db.transaction() as s:
        first = await inbox.claim(s, ["telegram"], now.now(), "A")
    assert [r.key for r in first] == ["1", "3", "4"]  # chat 7's second row waits for its first
    async with db.transaction() as s:
        assert await inbox.claim(s, ["telegram"], now.now(), "B") == []  # all held by A
    now.advance(seconds=inbox.LEASE.total_seconds() + 1)  # A died: its leases expire
    async with db.transaction() as s:
        taken = await inbox.claim(s, ["telegram"], now.now(), "B")
    assert [(r.key, r.claimed_by) for r in taken] == [("1", "B"), ("3", "B"), ("4", "B")]
    async with db.transaction() as s:
        row = await s.get(InboxItem, taken[0].id)
        assert row is not None
        inbox.mark_done(row, now.now())
    async with db.transaction() as s:
        assert [r.key for r in await inbox.claim(s, ["telegram"], now.now(), "B")] == ["2"]


async def test_a_row_backing_off_holds_its_chat_only(db):
    now = clock()
    calls: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        calls.append(payload["update_id"])
        if payload["update_id"] == 1 and calls.count(1) == 1:
            raise RuntimeError("database is locked")

    await store_updates(db, now, [text_update(1, 7, "a"), text_update(2, 7, "b")])
    await store_updates(db, now, [text_update(3, 8, "c")])
    worker = InboxWorker(db, {"telegram": handler}, now, holder="A")
    assert await worker.drain() == 2
    assert calls == [1, 3]  # 2 waits behind 1, which backs off; chat 8 is not held
    now.advance(seconds=3)
    assert await worker.drain() == 2
    assert calls == [1, 3, 1, 2]
    assert [r.status for r in await rows(db)] == ["done", "done", "done"]


async def test_a_slow_worker_whose_lease_was_taken_over_acts_once(db):
    """A's lease runs out while it still handles the row; B takes it over; the handler (whose
    core dedupes on the update key) is called twice, the row is done once and B's try counts."""
    now = clock()
    await store_updates(db, now, [text_update(1, 7, "a")])
    seen: list[str] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append("x")

    a = InboxWorker(db, {"telegram": handler}, now, holder="A")
    b = InboxWorker(db, {"telegram": handler}, now, holder="B")
    async with db.transaction() as s:
        (held,) = await inbox.claim(s, ["telegram"], now.now(), "A")
    now.advance(seconds=inbox.LEASE.total_seconds() + 1)
    assert await b.drain() == 1
    await a._handle(held)  # A finishes late: the row is done already, nothing changes
    (row,) = await rows(db)
    assert (row.status, row.attempts, row.claimed_by) == ("done", 1, None)


@pytestmark_pg
async def test_three_workers_handle_every_update_once_in_order_per_chat(db):
    """Three engines (as three processes) drain one inbox: 6 chats × 15 updates each."""
    now = clock()
    chats, per_chat = 6, 15
    updates = [  # each chat's burst arrives in one piece
        text_update(c * per_chat + n, 1000 + c, str(n))
        for c in range(chats)
        for n in range(per_chat)
    ]
    await store_updates(db, now, updates)
    handled: list[tuple[str, int]] = []
    busy: set[int] = set()
    overlaps: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        chat = payload["message"]["chat"]["id"]
        if chat in busy:
            overlaps.append(chat)
        busy.add(chat)
        n = int(payload["message"]["text"])
        for _ in range((n * 7 + chat) % 5 * 3 + 1):  # uneven work: the other workers run
            await asyncio.sleep(0)
        handled.append((str(chat), n))
        busy.discard(chat)

    engines = [Database(db.url) for _ in range(3)]
    try:
        for d in engines:  # connected before the race starts
            async with d.transaction() as s:
                await s.scalar(select(1))
        workers = [
            InboxWorker(d, {"telegram": handler}, now, holder=f"w{i}", batch=2)
            for i, d in enumerate(engines)
        ]
        done = await asyncio.gather(*(w.drain() for w in workers))
    finally:
        for d in engines:
            await d.dispose()
    assert sum(done) == chats * per_chat and min(done) > 0  # every worker took a share
    assert sorted(handled) == sorted({(str(1000 + c), n) for c in range(chats) for n in range(15)})
    for c in range(chats):
        assert [n for chat, n in handled if chat == str(1000 + c)] == list(range(per_chat))
    assert overlaps == []
    async with db.transaction() as s:
        statuses = set(await s.scalars(select(InboxItem.status)))
    assert statuses == {"done"}


# --- document jobs ---------------------------------------------------------------------------


def counting(calls: list[str]):  # noqa: ANN201
    def render(data: Any) -> bytes:
        calls.append(data.__class__.__name__)
        return b"PK-rekap"

    return render


async def files(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(StoredFile)) or 0)


async def test_a_dead_workers_document_job_is_taken_over_after_its_lease(
    db: Database,
    office: dict[str, int],  # noqa: F811
) -> None:
    now = FakeClock(START)
    job_id = await ask(db, now, office["cycle"], "rekap", [office["camat"]])
    calls: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        dead = DocumentWorker(db, now, pool, holder="A")
        other = DocumentWorker(db, now, pool, holder="B")
        for w in (dead, other):
            w.renderers["rekap"] = counting(calls)
        assert await dead._claim(job_id)  # A takes the job and dies before rendering
        assert await other.drain() == 0  # held: B leaves it alone
        now.advance(seconds=documents_worker.LEASE.total_seconds() + 1)
        assert await other.drain() == 1
        job = await job_row(db, job_id)
        assert (job.status, job.attempts, job.claimed_by) == ("done", 2, None)
        assert calls == ["ReportData"] and await files(db) == 1


async def test_a_late_result_of_a_lost_lease_is_dropped(
    db: Database,
    office: dict[str, int],  # noqa: F811
) -> None:
    now = FakeClock(START)
    job_id = await ask(db, now, office["cycle"], "rekap", [office["camat"]])
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = DocumentWorker(db, now, pool, holder="A")
        other = DocumentWorker(db, now, pool, holder="B")
        assert await slow._claim(job_id)
        now.advance(seconds=documents_worker.LEASE.total_seconds() + 1)
        assert await other._claim(job_id)  # B took it over
        await slow._failed(job_id, "RuntimeError: too late")  # A's failure is not B's
        job = await job_row(db, job_id)
        assert (job.claimed_by, job.error) == ("B", "")
        assert await files(db) == 0


@pytestmark_pg
async def test_three_document_workers_render_each_job_once(
    db: Database,
    office: dict[str, int],  # noqa: F811
) -> None:
    now = FakeClock(START)
    ids = [await ask(db, now, office["cycle"], "rekap", [office["camat"]]) for _ in range(6)]
    calls: list[str] = []
    engines = [Database(db.url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            workers = [DocumentWorker(d, now, pool, holder=f"w{i}") for i, d in enumerate(engines)]
            for w in workers:
                w.renderers["rekap"] = counting(calls)
            done = await asyncio.gather(*(w.drain() for w in workers))
    finally:
        for d in engines:
            await d.dispose()
    assert sum(done) == len(ids) and len(calls) == len(ids)
    async with db.transaction() as s:
        jobs = list(await s.scalars(select(DocumentJob).order_by(DocumentJob.id)))
    assert [(j.status, j.attempts) for j in jobs] == [("done", 1)] * len(ids)
    assert await files(db) == len(ids)


# --- one poller ------------------------------------------------------------------------------


async def test_a_second_poller_on_one_database_is_refused_until_the_first_is_gone(db):
    now = clock()
    engines = [Database(db.url) for _ in range(2)]
    first, second = (PollerGuard(d, now, holder=h) for d, h in zip(engines, "AB", strict=True))
    try:
        await first.acquire()
        with pytest.raises(Failure) as refused:
            await second.acquire()
        assert refused.value.code == ExitCode.POLLER == 9
        assert "mode polling" in refused.value.message()
        assert await first.holds()  # the first keeps polling
        if first.sqlite:  # a dead poller's lease expires; on PostgreSQL its session ends
            now.advance(seconds=LEASE_TTL.total_seconds() + 1)
            assert await second.holds()
            assert not await first.holds()  # displaced: it must stop
            await second.release()
        else:
            await first.release()
        assert await first.holds()
    finally:
        await first.release()
        await second.release()
        for d in engines:
            await d.dispose()


async def test_a_409_conflict_is_explained_with_its_own_exit_code():
    from telegram.error import Conflict

    from bot.failures import explain

    failure = explain(
        Conflict("terminated by other getUpdates request"), base_url="", database_url=""
    )
    assert failure.code == ExitCode.POLLER
    assert "dua proses" in failure.message()


def test_the_lease_outlives_a_poll():
    from handlers.telegram_intake import POLL_TIMEOUT

    assert timedelta(seconds=3 * POLL_TIMEOUT) < LEASE_TTL


async def test_a_crashed_pollers_lease_on_this_host_is_not_waited_out(db):
    """After a crash (SIGKILL) the restarted bot polls at once: the holder's process is gone."""
    import socket

    from storage import leases

    dead = dead_holder()
    alive = f"{socket.gethostname()[:50]}:{os.getppid()}:abcdef12"
    assert leases.gone(dead) and not leases.gone(alive)
    assert not leases.gone("other-host:" + dead.split(":", 1)[1])
    now = clock()
    async with db.transaction() as s:
        assert await leases.take(s, "telegram-poller", dead, now.now(), LEASE_TTL)
    guard = PollerGuard(db, now)
    if guard.sqlite:
        await guard.acquire()  # not refused: the dead holder's lease is taken over
        await guard.release()


def dead_holder() -> str:
    """The claim name of a process of this host that has exited."""
    import socket
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()[:50]}:{done.stdout.strip()}:abcdef12"


async def test_a_restarted_bot_takes_back_its_crashed_predecessors_claims_at_once(
    db: Database,
    office: dict[str, int],  # noqa: F811
) -> None:
    now = FakeClock(START)
    job_id = await ask(db, now, office["cycle"], "rekap", [office["camat"]])
    await store_updates(db, now, [text_update(1, 7, "a")])
    dead, elsewhere = dead_holder(), "other-host:1:abcdef12"
    async with db.transaction() as s:
        await inbox.claim(s, ["telegram"], now.now(), dead)
        job = await s.get(DocumentJob, job_id)
        assert job is not None
        job.attempts, job.claimed_by, job.claim_until = 1, dead, now.now() + timedelta(hours=1)
    handled: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        handled.append(payload["update_id"])

    assert await InboxWorker(db, {"telegram": handler}, now).drain() == 1  # no lease waited out
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker = DocumentWorker(db, now, pool)
        worker.renderers["rekap"] = counting([])
        assert await worker.drain() == 1
    assert handled == [1] and (await job_row(db, job_id)).status == "done"
    # A claim of another host's process is never presumed dead: it expires.
    await store_updates(db, now, [text_update(2, 8, "b")])
    async with db.transaction() as s:
        await inbox.claim(s, ["telegram"], now.now(), elsewhere)
    assert await InboxWorker(db, {"telegram": handler}, now).drain() == 0
