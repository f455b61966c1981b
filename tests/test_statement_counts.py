"""SQL statements per update: few for a worksheet answer, and the last Kirim of an office costs
the same whatever its size (a count, not a time: a per-sheet loop coming back fails here)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bench import seed
from bench.common import WIB
from flows.core.messages import Inbound
from storage.db import Database, is_sqlite
from storage.migrate import upgrade
from storage.models import Cycle, Entry, Reminder, Worksheet
from tests.conftest import reset_postgres
from tests.flowkit import Chat, Counter, FakeClock, open_quarter

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)

#: Upper bounds per update kind, a little above today's counts (10 and 8 on SQLite; 14 and 15
#: before the inbound work). An answer clears the stored rekap lines of the sheets that read
#: it as an earlier quarter (one UPDATE), so that the last Kirim reads no sheet's answers.
MAX_ANSWER = 11
MAX_TAP = 9
#: The last Kirim (all sheets in: the next step's entry) costs at most this many (34 on either
#: database today, 39 before a transition read its row back by RETURNING).
MAX_LAST_KIRIM = 40


async def _office_waiting_on_one(db: Database, kasi: int) -> tuple[Chat, str]:
    """An office of ``kasi`` Kasi at the isi step where every sheet but the last is sent."""
    chats = await seed.office_with_kasi(db, kasi, 1)
    chat = Chat(db, FakeClock(NOW))
    await open_quarter(chat, "bench", "2026-TW3")
    last = chats[-1] - seed.CHAT_BASE  # person id of the last Kasi
    async with db.transaction() as s:
        others = select(Worksheet.id).where(Worksheet.person_id != last)
        await s.execute(
            update(Entry)
            .where(Entry.worksheet_id.in_(others))
            .values(realisasi=9, filled=True, editable=False)
        )
        await s.execute(
            update(Worksheet)
            .where(Worksheet.person_id != last)
            .values(status="submitted", submitted_at=NOW, version=Worksheet.version + 1)
        )
        await s.execute(
            update(Reminder)
            .where(Reminder.person_id != last, Reminder.kind.in_(("sebelum", "hari_h")))
            .values(status="lewat")
        )
    return chat, str(chats[-1])


async def _last_kasi_counts(db: Database, kasi: int) -> dict[str, int]:
    chat, me = await _office_waiting_on_one(db, kasi)
    counter = Counter(db)
    counts: dict[str, int] = {}
    n = 0

    def inbound(**kw: Any) -> Inbound:
        nonlocal n
        n += 1
        return Inbound("telegram", me, f"u{n}", **kw)

    counts["/isi"] = await counter.count(chat, inbound(command="isi"))
    counts["answer"] = await counter.count(chat, inbound(text="9"))
    for step in ("kendala", "bukti"):
        token = await chat.button_token(me, "Lewati")
        counts[f"skip {step}"] = await counter.count(chat, inbound(button=token, message_ref="1"))
    token = await chat.button_token(me, "Kirim")
    counts["last Kirim"] = await counter.count(chat, inbound(button=token, message_ref="1"))
    async with db.transaction() as s:
        cycle = await s.scalar(select(Cycle))
        assert cycle is not None
        assert cycle.step != seed.ISI_STEP, "the last Kirim moved the cycle on"
        assert not list(await s.scalars(select(Worksheet).where(Worksheet.status == "open")))
    return counts


async def test_a_worksheet_answer_and_a_tap_take_few_statements(db: Database) -> None:
    counts = await _last_kasi_counts(db, 3)
    assert counts["answer"] <= MAX_ANSWER, counts
    assert counts["skip kendala"] <= MAX_TAP, counts
    assert counts["skip bukti"] <= MAX_TAP, counts
    assert counts["last Kirim"] <= MAX_LAST_KIRIM, counts


async def test_the_last_kirim_costs_the_same_in_an_office_ten_times_larger(
    tmp_path: Path, db: Database
) -> None:
    small = await _last_kasi_counts(db, 4)
    url = db.url
    if is_sqlite(url):
        url = f"sqlite+aiosqlite:///{tmp_path / 'large.db'}"
    else:
        await db.dispose()
        await reset_postgres(url)
    large_db = Database(url)
    try:
        await upgrade(large_db.engine)
        large = await _last_kasi_counts(large_db, 40)
    finally:
        await large_db.dispose()
    for kind, n in small.items():
        assert abs(large[kind] - n) <= 1, (kind, small, large)


async def test_a_repeated_update_is_told_apart_in_one_insert_and_changes_nothing(
    db: Database,
) -> None:
    chat, me = await _office_waiting_on_one(db, 2)
    counter = Counter(db)
    first = Inbound("telegram", me, "u-same", command="isi")
    assert await counter.count(chat, first) > 2
    answered = await chat.new_messages()
    assert answered
    assert await counter.count(chat, first) <= 2  # (BEGIN,) the key's INSERT … ON CONFLICT
    assert (await chat.core.handle(first)).handled is False
    assert await chat.new_messages() == []
