"""Reminders, escalation, the Camat's digest and /perpanjang on an injected clock (no sleeping).

The small office runs kebasen-pengumpulan: the chain started on Monday 5 October 2026 09.00 WIB
reaches the isi step (3 hari) at once, due Thursday 8 October 16.00 WIB. The plan: Wednesday
07.30 (one working day before), Thursday 07.30 (the deadline day), every working morning from
Friday 07.30 (overdue), with escalation and the Camat's digest from Friday.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.offline.clocked import FileClock
from bot.scheduler import JOB_NEXT, JOB_TICK, ReminderScheduler
from flows.core.context import Ctx
from flows.sop import reminders
from flows.sop.reminders import ReminderPlan
from storage.db import Database
from storage.models import (
    Acting,
    Cycle,
    Event,
    Office,
    Person,
    Reminder,
    StepDeadline,
    Worksheet,
)
from tests.flowkit import SMALL_PEM, SMALL_PK, Chat, FakeClock, Sent, play, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"
WIB = ZoneInfo("Asia/Jakarta")


def wib(m: int, d: int, hh: int = 0, mm: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


MONDAY = wib(10, 5, 9)
WED_MORNING = wib(10, 7, 7, 30)
THU_MORNING = wib(10, 8, 7, 30)
FRI_MORNING = wib(10, 9, 7, 30)
NEXT_MONDAY_MORNING = wib(10, 12, 7, 30)


def at(chat: Chat, moment: datetime) -> None:
    chat.clock.value = moment.astimezone(UTC)


async def start_chain(chat: Chat, period: str = "TW III 2026") -> None:
    await chat.say(CAMAT, f"/mulai {period}")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await chat.new_messages()


async def sweep(chat: Chat) -> datetime | None:
    found: list[datetime | None] = []

    async def work(ctx: Ctx) -> None:
        found.append(await reminders.sweep(ctx))

    await chat.run(work)
    return found[0]


async def sweep_at(chat: Chat, moment: datetime) -> tuple[datetime | None, list[Sent]]:
    at(chat, moment)
    nxt = await sweep(chat)
    return nxt, await chat.new_messages()


def restart(chat: Chat) -> Chat:
    """A new process on the same database: a fresh core, the same (fake) clock."""
    fresh = Chat(chat.db, chat.clock)
    fresh.seen, fresh.updates = chat.seen, chat.updates + 1000
    return fresh


def to(out: list[Sent], address: str) -> list[str]:
    return [m.text for m in out if m.address == address]


async def setup(db: Database) -> tuple[dict[str, int], Chat]:
    ids = await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY.astimezone(UTC)))
    await start_chain(chat)
    return ids, chat


async def isi_deadline(db: Database) -> StepDeadline:
    async with db.transaction() as s:
        return (
            await s.scalars(select(StepDeadline).where(StepDeadline.step == "sampaikan_data"))
        ).one()


# --- who gets what and when -----------------------------------------------------------------


async def test_isi_step_plan_who_gets_what_and_when(db):
    _, chat = await setup(db)
    assert (await isi_deadline(db)).due_at == wib(10, 8, 16)
    nxt, out = await sweep_at(chat, MONDAY + timedelta(minutes=5))
    assert out == [] and nxt == WED_MORNING

    nxt, out = await sweep_at(chat, WED_MORNING)
    assert {m.address for m in out} == {KASI, PLANNER}  # both sheets (Budi, and Maya's own)
    kasi = to(out, KASI)[0]
    assert "Pengingat" in kasi and "1 hari kerja lagi" in kasi
    assert "Kamis, 8 Oktober 2026 pukul 16.00 WIB" in kasi and "/isi" in kasi
    assert nxt == THU_MORNING
    _, out = await sweep_at(chat, WED_MORNING + timedelta(hours=2))
    assert out == []  # sent once

    # Budi submits on Wednesday: nobody who has submitted is reminded.
    await play(chat, KASI, SMALL_PEM)
    await chat.new_messages()
    nxt, out = await sweep_at(chat, THU_MORNING)
    assert [m.address for m in out] == [PLANNER]
    assert "hari ini batas waktu" in out[0].text
    assert nxt == FRI_MORNING

    # Friday: overdue. Maya is reminded; the Sekcam hears that Maya is late; the Camat's digest.
    nxt, out = await sweep_at(chat, FRI_MORNING)
    assert sorted(m.address for m in out) == sorted([PLANNER, SEKCAM, CAMAT])
    assert "Terlambat" in to(out, PLANNER)[0]
    sekcam = to(out, SEKCAM)[0]
    assert "Laporan keterlambatan" in sekcam and "Maya" in sekcam and "Budi" not in sekcam
    digest = to(out, CAMAT)[0]
    assert "Ringkasan harian" in digest and "Jumat, 9 Oktober 2026" in digest
    assert "Maya" in digest and "terlambat 1 hari kerja" in digest
    assert nxt == NEXT_MONDAY_MORNING  # the weekend is skipped


async def test_nobody_who_has_submitted_is_reminded_even_if_planned(db):
    _, chat = await setup(db)
    await sweep_at(chat, MONDAY + timedelta(hours=1))  # plans Wednesday's reminders
    async with db.transaction() as s:
        planned = await s.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.kind == "sebelum")
        )
    assert planned == 2
    await play(chat, KASI, SMALL_PEM)  # Tuesday-ish: Budi submits after the plan was made
    await chat.new_messages()
    _, out = await sweep_at(chat, WED_MORNING)
    assert to(out, KASI) == [] and len(to(out, PLANNER)) == 1
    async with db.transaction() as s:
        statuses = {
            r.person_id: r.status
            for r in await s.scalars(select(Reminder).where(Reminder.kind == "sebelum"))
        }
    assert sorted(statuses.values()) == ["lewat", "sent"]


async def test_everyone_done_means_no_more_reminders(db):
    _, chat = await setup(db)
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    await chat.new_messages()
    # Now at olah_data (the planner's rekap, 5 hari from Monday 09.00: due Monday 12 Oct 16.00).
    _, out = await sweep_at(chat, WED_MORNING)
    assert out == []
    _, out = await sweep_at(chat, wib(10, 9, 7, 30))  # one working day before: the planner
    assert [m.address for m in out] == [PLANNER]
    assert "menunggu Anda" in out[0].text


# --- office hours, weekends, holidays ---------------------------------------------------------


async def test_nothing_at_night_or_on_a_weekend(db):
    _, chat = await setup(db)
    # The bot was down from Monday; it comes back on Friday evening: overdue, but after hours.
    nxt, out = await sweep_at(chat, wib(10, 9, 20))
    assert out == [] and nxt == NEXT_MONDAY_MORNING
    for moment in (wib(10, 10, 10), wib(10, 11, 9), wib(10, 12, 6, 59)):  # Sat, Sun, Mon early
        nxt, out = await sweep_at(chat, moment)
        assert out == [], moment
        assert nxt == NEXT_MONDAY_MORNING
    # Monday 07.30: exactly one overdue reminder each (the missed ones are not piled up).
    _, out = await sweep_at(chat, NEXT_MONDAY_MORNING)
    assert len(to(out, KASI)) == 1 and "Terlambat" in to(out, KASI)[0]
    assert len(to(out, PLANNER)) == 2  # her own reminder + the report that Budi is late
    assert len(to(out, SEKCAM)) == 1 and len(to(out, CAMAT)) == 1
    async with db.transaction() as s:
        kinds = {
            (r.kind, r.status)
            for r in await s.scalars(select(Reminder).where(Reminder.person_id == 3))
        }
    # Friday's missed reminder is retired, Monday's sent, Tuesday's planned. (The rows are
    # written when the step is entered, so the missed early ones are there too, retired.)
    late = {k for k in kinds if k[0] == "terlambat"}
    assert late == {("terlambat", "lewat"), ("terlambat", "sent"), ("terlambat", "pending")}
    assert kinds - late == {("sebelum", "lewat"), ("hari_h", "lewat")}


async def test_nothing_during_idul_fitri_2026_cuti_bersama(db):
    await seed_small_office(db)
    chat = Chat(db, FakeClock(wib(3, 17, 9).astimezone(UTC)))  # Tuesday before the break
    await start_chain(chat, "TW I 2026")
    # 3 working days: 25, 26, 27 March (18-24 are Nyepi, Idul Fitri and cuti bersama).
    assert (await isi_deadline(db)).due_at == wib(3, 27, 16, 30)
    for day in range(18, 25):
        nxt, out = await sweep_at(chat, wib(3, day, 10))
        assert out == [], day
        assert nxt == wib(3, 26, 7, 30)  # one working day before the deadline day
    _, out = await sweep_at(chat, wib(3, 26, 7, 30))
    assert {m.address for m in out} == {KASI, PLANNER}


# --- restarts --------------------------------------------------------------------------------


async def count_reminders_to(db: Database, address: str, word: str) -> int:
    from storage.models import Outbox

    async with db.transaction() as s:
        rows = await s.scalars(select(Outbox).where(Outbox.address == address))
        return sum(word in r.payload.get("text", "") for r in rows)


async def test_restart_before_during_and_after_the_reminder_time_sends_it_once(db):
    _, chat = await setup(db)
    # Before: a sweep at 07.00, then the bot restarts.
    await sweep_at(chat, WED_MORNING - timedelta(minutes=30))
    chat = restart(chat)
    # During: two processes' worth of sweeps at the very moment, each on a fresh core.
    await sweep_at(chat, WED_MORNING)
    chat = restart(chat)
    await sweep_at(chat, WED_MORNING)
    # After: restarted later that morning.
    chat = restart(chat)
    await sweep_at(chat, WED_MORNING + timedelta(hours=3))
    assert await count_reminders_to(db, KASI, "Pengingat") == 1


async def test_reminder_missed_while_down_is_sent_once_on_start(db):
    _, chat = await setup(db)
    await sweep_at(chat, MONDAY + timedelta(hours=1))
    # Down from Monday 10.00 to Wednesday 11.00: the 07.30 reminder is sent at the first sweep.
    chat = restart(chat)
    _, out = await sweep_at(chat, wib(10, 7, 11))
    assert len(to(out, KASI)) == 1
    chat = restart(chat)
    _, out = await sweep_at(chat, wib(10, 7, 11, 1))
    assert out == []
    assert await count_reminders_to(db, KASI, "Pengingat") == 1


async def test_outbox_dedupes_a_reminder_whose_row_was_lost(db):
    _, chat = await setup(db)
    _, out = await sweep_at(chat, WED_MORNING)
    assert len(to(out, KASI)) == 1
    async with db.transaction() as s:  # as if the reminder's status were never written
        for r in await s.scalars(select(Reminder).where(Reminder.status == "sent")):
            r.status, r.sent_at = "pending", None
    _, out = await sweep_at(chat, WED_MORNING + timedelta(minutes=1))
    assert out == []
    assert await count_reminders_to(db, KASI, "Pengingat") == 1


# --- escalation and the digest ---------------------------------------------------------------


async def test_escalation_recipients_for_a_late_kasi(db):
    _, chat = await setup(db)
    _, out = await sweep_at(chat, FRI_MORNING)
    planner = to(out, PLANNER)
    assert len(planner) == 2
    report = next(t for t in planner if "Laporan keterlambatan" in t)
    assert "Budi" in report and "Maya" not in report  # never told about herself
    sekcam = to(out, SEKCAM)
    assert len(sekcam) == 1 and "Budi" in sekcam[0] and "Maya" in sekcam[0]
    assert len(to(out, CAMAT)) == 1 and "Ringkasan harian" in to(out, CAMAT)[0]
    assert len(to(out, KASI)) == 1


async def test_escalation_of_late_approvers_goes_one_up(db):
    _, chat = await setup(db)
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)  # -> olah_data (planner), due Monday 12 Oct 16.00
    await chat.new_messages()
    # The planner is late at her rekap step: the Sekcam hears of it.
    _, out = await sweep_at(chat, wib(10, 13, 7, 30))
    assert len(to(out, PLANNER)) == 1 and "Terlambat" in to(out, PLANNER)[0]
    assert len(to(out, SEKCAM)) == 1 and "Maya" in to(out, SEKCAM)[0]
    assert "Laporan keterlambatan" in to(out, SEKCAM)[0]
    assert to(out, KASI) == []
    # The planner forwards on Tuesday 09.00: telaah_sekcam, 1 hari -> Wednesday 14 Oct 16.00.
    at(chat, wib(10, 13, 9))
    await chat.tap(PLANNER, "Teruskan")
    await chat.new_messages()
    _, out = await sweep_at(chat, wib(10, 14, 7, 30))
    assert [m.address for m in out] == [SEKCAM] and "hari ini batas waktu" in out[0].text
    _, out = await sweep_at(chat, wib(10, 15, 7, 30))
    assert len(to(out, SEKCAM)) == 1 and "Terlambat" in to(out, SEKCAM)[0]
    camat = to(out, CAMAT)
    assert len(camat) == 2  # the escalation (Sekcam -> Camat) and the daily digest
    assert any("Laporan keterlambatan" in t and "Sri Sekcam" in t for t in camat)
    assert to(out, PLANNER) == []


async def test_camat_digest_once_per_working_morning(db):
    _, chat = await setup(db)
    counts = []
    for moment in (
        FRI_MORNING,
        wib(10, 9, 10),
        wib(10, 9, 15, 59),
        NEXT_MONDAY_MORNING,
        wib(10, 12, 13),
    ):
        _, out = await sweep_at(chat, moment)
        counts.append(sum("Ringkasan harian" in t for t in to(out, CAMAT)))
    assert counts == [1, 0, 0, 1, 0]


async def test_office_settings_change_the_plan(db):
    ids, chat = await setup(db)
    async with db.transaction() as s:
        office = await s.get(Office, ids["office"])
        office.settings = {
            "pengingat": {"sebelum_hari": 0, "eskalasi": False, "ringkasan_camat": False}
        }
    _, out = await sweep_at(chat, WED_MORNING)
    assert out == []
    _, out = await sweep_at(chat, THU_MORNING)
    assert {m.address for m in out} == {KASI, PLANNER}
    _, out = await sweep_at(chat, FRI_MORNING)
    assert {m.address for m in out} == {KASI, PLANNER} and len(out) == 2


def test_plan_defaults_and_overrides():
    assert ReminderPlan.of() == ReminderPlan(1, True, True, True, True)
    plan = ReminderPlan.of({"sebelum_hari": "2", "hari_h": False, "unknown": 1})
    assert plan.sebelum_hari == 2 and not plan.hari_h and plan.eskalasi
    assert ReminderPlan.of({"sebelum_hari": "x"}).sebelum_hari == 1


async def test_finished_or_moved_steps_cancel_pending_reminders(db):
    _, chat = await setup(db)
    await sweep_at(chat, MONDAY + timedelta(hours=1))
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    await chat.new_messages()
    await sweep_at(chat, MONDAY + timedelta(hours=2))
    async with db.transaction() as s:
        left = list(
            await s.scalars(
                select(Reminder).where(
                    Reminder.step == "sampaikan_data", Reminder.status == "pending"
                )
            )
        )
    assert left == []


# --- /perpanjang -----------------------------------------------------------------------------


async def test_extend_refused_and_bad_input_change_nothing(db):
    _, chat = await setup(db)
    before = (await isi_deadline(db)).due_at
    out = await chat.say(KASI, "/perpanjang 2 hari data desa terlambat")
    assert "hanya dapat diperpanjang oleh" in out[-1].text
    out = await chat.say(CAMAT, "/perpanjang 2 hari data desa terlambat")
    assert "hanya dapat diperpanjang oleh" in out[-1].text
    for bad in ("", "besok saja", "2 minggu data belum ada", "99 hari data belum ada"):
        out = await chat.say(PLANNER, f"/perpanjang {bad}".strip())
        assert "Cara memperpanjang" in out[-1].text, bad
    out = await chat.say(PLANNER, "/perpanjang 2 hari")
    assert "alasan" in out[-1].text
    assert (await isi_deadline(db)).due_at == before
    async with db.transaction() as s:
        assert await s.scalar(select(Event).where(Event.action == "langkah.perpanjang")) is None


async def test_extend_moves_the_deadline_tells_everyone_and_replans(db):
    _, chat = await setup(db)
    await sweep_at(chat, MONDAY + timedelta(hours=1))
    at(chat, wib(10, 7, 10))
    out = await chat.say(PLANNER, "/perpanjang 2 hari data desa terlambat")
    new_due = "Senin, 12 Oktober 2026 pukul 16.00 WIB"
    told = {m.address for m in out if new_due in m.text}
    assert told == {KASI, PLANNER, SEKCAM, CAMAT}
    assert all("data desa terlambat" in m.text for m in out)
    deadline = await isi_deadline(db)
    assert deadline.due_at == wib(10, 12, 16) and deadline.extended_reason == "data desa terlambat"
    async with db.transaction() as s:
        ev = await s.scalar(select(Event).where(Event.action == "langkah.perpanjang"))
    assert ev is not None and ev.reason == "data desa terlambat"
    assert ev.data["batas_lama"].startswith("2026-10-08") and ev.data["durasi"] == "2 hari"
    # The old Thursday reminder is gone; the new plan: Friday (one day before), Monday morning.
    _, out = await sweep_at(chat, THU_MORNING)
    assert out == []
    _, out = await sweep_at(chat, FRI_MORNING)
    assert {m.address for m in out} == {KASI, PLANNER} and "1 hari kerja lagi" in out[0].text
    _, out = await sweep_at(chat, NEXT_MONDAY_MORNING)
    assert {m.address for m in out} == {KASI, PLANNER} and "hari ini" in out[0].text


async def test_an_acting_sekcam_may_extend(db):
    ids, chat = await setup(db)
    async with db.transaction() as s:
        s.add(
            Acting(
                office_id=ids["office"],
                person_id=ids["kasi"],
                role="sekcam",
                kind="Plh",
                starts=date(2026, 10, 1),
                ends=date(2026, 10, 31),
                reason="dinas luar",
                created_at=MONDAY,
            )
        )
    out = await chat.say(KASI, "/perpanjang 3 jam menunggu data desa")
    assert any("Batas baru: Jumat, 9 Oktober 2026 pukul 10.30 WIB" in m.text for m in out)
    async with db.transaction() as s:
        ev = await s.scalar(select(Event).where(Event.action == "langkah.perpanjang"))
    assert ev is not None and ev.acting_as == "Plh Sekcam"


async def test_extension_that_stays_in_the_past_is_refused(db):
    _, chat = await setup(db)
    at(chat, wib(10, 14, 10))  # Wednesday after the Thursday deadline: 4 working days late
    out = await chat.say(PLANNER, "/perpanjang 1 hari data desa terlambat")
    assert "tetap sudah lewat" in out[-1].text
    assert (await isi_deadline(db)).due_at == wib(10, 8, 16)


# --- the scheduler ---------------------------------------------------------------------------


async def test_scheduler_keeps_two_jobs_with_many_pending_reminders(db):
    ids, chat = await setup(db)
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        for i in range(150):
            p = Person(
                office_id=ids["office"],
                nip=f"19900101201501{i:04d}",
                nama=f"Staf {i}",
                jabatan="Kasi",
                role="kasi",
            )
            s.add(p)
            await s.flush()
            s.add(Worksheet(cycle_id=cycle.id, person_id=p.id, section_id=1))
    at(chat, MONDAY + timedelta(hours=1))
    sched = ReminderScheduler(chat.core, interval_seconds=300)
    wall_before = datetime.now(UTC)
    await sched.start()
    assert sched.warm_up is not None
    await sched.warm_up  # the replan and first sweep run in the background after start-up
    wall_after = datetime.now(UTC)
    try:
        async with db.transaction() as s:
            pending = await s.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.status == "pending")
            )
        assert pending >= 150 * 3  # sebelum, hari_h, terlambat for every owner
        assert sched.job_ids() == sorted([JOB_NEXT, JOB_TICK])
        assert sched.next_due == WED_MORNING
        delay = WED_MORNING - chat.clock.now()
        run_at = sched.scheduler.get_job(JOB_NEXT).next_run_time
        assert wall_before + delay <= run_at <= wall_after + delay
        assert sched.scheduler.get_job(JOB_NEXT).misfire_grace_time is None
        # Sweeping again (the tick) re-arms the same job: still two.
        await sched.run_sweep()
        assert sched.job_ids() == sorted([JOB_NEXT, JOB_TICK]) and sched.sweeps == 2
    finally:
        sched.stop()


async def test_scheduler_survives_a_failing_sweep(db):
    _, chat = await setup(db)

    async def broken(ctx: Ctx) -> datetime | None:
        raise RuntimeError("boom")

    sched = ReminderScheduler(chat.core, interval_seconds=60, sweep=broken)
    await sched.start()
    assert sched.warm_up is not None
    await sched.warm_up
    try:
        assert sched.job_ids() == [JOB_TICK] and sched.sweeps == 0
    finally:
        sched.stop()


def test_file_clock(tmp_path: Path):
    path = tmp_path / "jam.txt"
    path.write_text("2026-10-09T08:00:00+07:00")
    clock = FileClock(path)
    assert clock.now() == datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    path.write_text("")  # a torn write keeps the last good value
    assert clock.now() == datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    path.write_text("2026-10-12 00:30")  # naive = UTC
    assert clock.now() == datetime(2026, 10, 12, 0, 30, tzinfo=UTC)


def _uses_file_clock(source: str) -> bool:
    """Imports ``bot.offline.clocked`` or defines or names ``FileClock`` (docs do not count)."""
    for node in ast.walk(ast.parse(source)):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        if "bot.offline.clocked" in modules:
            return True
        if isinstance(node, ast.Name) and node.id == "FileClock":
            return True
        if isinstance(node, ast.ClassDef) and node.name == "FileClock":
            return True
    return False


def test_the_file_clock_is_no_production_setting():
    """Only the test-only entry point ``python -m bot.offline.clocked`` uses the file clock."""
    from bot.settings import Settings

    assert not [f for f in Settings.model_fields if "clock" in f or "jam" in f]
    root = Path(__file__).resolve().parent.parent
    users = {
        str(p.relative_to(root))
        for package in ("bot", "flows", "handlers", "storage", "reports")
        for p in (root / package).rglob("*.py")
        if _uses_file_clock(p.read_text(encoding="utf-8"))
    }
    assert users == {"bot/offline/clocked.py"}
