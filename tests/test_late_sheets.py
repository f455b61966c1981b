"""A filling window that closes: Kirim after the isi deadline needs "Izinkan terlambat"."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from flows.domain.states import SheetState
from flows.sop.report_data import report_data
from storage.db import Database
from storage.models import Cycle, Event, Office, StepDeadline, Worksheet
from tests.flowkit import SMALL_PEM, SMALL_PK, Chat, open_quarter, play, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"
#: Friday 9 October 2026, 10.00 WIB: the isi step (3 hari from Monday 09.00) was due
#: Thursday 8 October 16.00 WIB, so this is 150 office minutes late (Friday opens 07.30).
FRIDAY_10 = datetime(2026, 10, 9, 3, 0, tzinfo=UTC)


def joined(sent) -> str:  # noqa: ANN001
    return "\n---\n".join(m.text for m in sent)


async def sheet(db: Database, person_id: int) -> Worksheet:
    async with db.transaction() as s:
        ws = await s.scalar(select(Worksheet).where(Worksheet.person_id == person_id))
        assert ws is not None
        return ws


async def actions(db: Database) -> list[str]:
    async with db.transaction() as s:
        return [e.action for e in await s.scalars(select(Event).order_by(Event.id))]


async def fill_then_miss_the_deadline(db: Database) -> tuple[Chat, dict[str, int]]:
    """The planner's own sheet goes in on time; the Kasi fills but is past the deadline."""
    ids = await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await play(chat, PLANNER, SMALL_PK)
    await play(chat, KASI, SMALL_PEM[:-1])  # everything but Kirim
    chat.clock.value = FRIDAY_10
    await chat.new_messages()
    return chat, ids


async def test_kirim_after_the_deadline_asks_the_planner_who_allows_it_once(db: Database):
    chat, ids = await fill_then_miss_the_deadline(db)
    _, out = await chat.tap(KASI, "Kirim")
    told = [m for m in out if m.address == KASI]
    assert "Batas waktu pengisian" in joined(told) and "Kasubag Perencanaan" in joined(told)
    card = next(m for m in out if m.address == PLANNER)
    assert card.labels() == ["Izinkan terlambat", "Tolak"]
    assert "Budi" in card.text and "2 jam 30 menit kerja" in card.text
    ws = await sheet(db, ids["kasi"])
    assert ws.status == SheetState.OPEN and ws.late_asked_at is not None
    assert (await actions(db)).count("lembar.minta_terlambat") == 1

    # Kirim again while waiting: told so, no second card, nothing changes.
    _, out = await chat.tap(KASI, "Kirim")
    assert [m.address for m in out] == [KASI] and "masih menunggu" in out[0].text
    assert (await sheet(db, ids["kasi"])).version == ws.version

    # The Kasi cannot tap the planner's button (a forged tap of the planner's token).
    token = await chat.button_token(PLANNER, "Izinkan terlambat")
    from flows.core.messages import Inbound

    reply = await chat.core.handle(Inbound("telegram", KASI, chat._key(), button=token))
    assert reply.toast and "bukan untuk Anda" in joined(await chat.new_messages())
    after = await sheet(db, ids["kasi"])
    assert after.late_allowed_at is None and after.version == ws.version

    toast, out = await chat.tap(PLANNER, "Izinkan terlambat")
    to_kasi = next(m for m in out if m.address == KASI and not m.edit)
    assert "mengizinkan" in to_kasi.text and to_kasi.labels() == ["Kirim"]
    assert any(m.edit and "Izin terlambat diberikan oleh Maya" in m.text for m in out)
    allowed = await sheet(db, ids["kasi"])
    assert allowed.late_allowed_by == ids["perencana"] and allowed.status == SheetState.OPEN

    toast, out = await chat.tap(PLANNER, "Izinkan terlambat")  # a double tap: one transition
    assert toast and (await sheet(db, ids["kasi"])).version == allowed.version
    assert (await actions(db)).count("lembar.izin_terlambat") == 1

    _, out = await chat.tap(KASI, "Kirim")
    assert any("sudah dikirim" in m.text for m in out if m.address == KASI)
    sent = await sheet(db, ids["kasi"])
    assert sent.status == SheetState.SUBMITTED and sent.late_minutes == 150

    async with db.transaction() as s:
        cycle_id = sent.cycle_id
        data = await report_data(s, cycle_id, now=FRIDAY_10)
    kirim = [h for h in data.history if h.action == "Lembar kerja Seksi Pemerintahan dikirim"]
    assert len(kirim) == 1 and kirim[0].on_time is False and kirim[0].late_days == 1
    assert kirim[0].late_minutes == 150
    assert kirim[0].note == "Dikirim 2 jam 30 menit kerja setelah batas waktu; diizinkan oleh Maya"
    assert any(
        "diizinkan dikirim terlambat" in h.action and h.actor == "Maya" for h in data.history
    )


async def test_refusal_needs_a_reason_closes_the_sheet_and_the_cycle_goes_on(db: Database):
    chat, ids = await fill_then_miss_the_deadline(db)
    await chat.tap(KASI, "Kirim")
    _, out = await chat.tap(PLANNER, "Tolak")
    assert "alasan" in out[0].text
    before = await sheet(db, ids["kasi"])
    out = await chat.say(PLANNER, "ok")  # too short: asked again, nothing changes
    assert "paling sedikit 3 huruf" in out[0].text
    assert (await sheet(db, ids["kasi"])).version == before.version

    out = await chat.say(PLANNER, "Sudah tiga kali diingatkan")
    closed = await sheet(db, ids["kasi"])
    assert closed.status == SheetState.CLOSED
    assert any(m.address == KASI and "Sudah tiga kali diingatkan" in m.text for m in out)
    async with db.transaction() as s:  # the cycle did not wait: on to the rekap
        cycle = await s.get(Cycle, closed.cycle_id)
        isi_done = await s.scalar(
            select(StepDeadline.done_at).where(StepDeadline.step == "sampaikan_data")
        )
    assert cycle is not None and cycle.step == "olah_data" and isi_done == FRIDAY_10
    assert any(m.address == PLANNER and "Kembalikan lembar" in m.labels() for m in out)

    out = await chat.say(KASI, "/isi")
    assert "ditutup" in out[0].text
    _, out = await chat.tap(KASI, "Kirim")
    assert "ditutup" in joined(out)
    assert (await sheet(db, ids["kasi"])).version == closed.version
    out = await chat.say(CAMAT, "/status")
    assert "ditutup (izin terlambat ditolak)" in joined(out)


async def test_before_the_deadline_and_after_an_extension_kirim_needs_no_permission(db: Database):
    ids = await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await play(chat, KASI, SMALL_PEM[:-1])
    chat.clock.value = FRIDAY_10
    out = await chat.say(KASI, "/isi")  # /isi says at once that Kirim needs permission now
    assert "Batas waktu pengisian sudah lewat" in joined(out)
    await chat.tap(KASI, "Kirim")
    await chat.say(PLANNER, "/perpanjang 2 hari data desa terlambat")
    async with db.transaction() as s:
        due = await s.scalar(
            select(StepDeadline.due_at).where(StepDeadline.step == "sampaikan_data")
        )
    assert due is not None and due > FRIDAY_10  # the window is open again
    toast, _ = await chat.tap(PLANNER, "Izinkan terlambat")  # no longer needed
    assert "diperpanjang" in toast
    _, out = await chat.tap(KASI, "Kirim")
    sent = await sheet(db, ids["kasi"])
    assert sent.status == SheetState.SUBMITTED and sent.late_minutes is None
    assert "lembar.izin_terlambat" not in await actions(db)


async def test_a_returned_sheet_may_be_sent_again_after_the_deadline(db: Database):
    ids = await seed_small_office(db)
    async with db.transaction() as s:  # a preset whose planner verifies each sheet
        office = await s.get(Office, ids["office"])
        assert office is not None
        office.preset = "kertosono"
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await play(chat, KASI, SMALL_PEM)
    chat.clock.value = FRIDAY_10
    await chat.tap(PLANNER, "Kembalikan")
    await chat.say(PLANNER, "PEM-2: angka belum sesuai register")
    assert (await sheet(db, ids["kasi"])).status == SheetState.RETURNED
    await play(chat, KASI, ["/isi", "8", "tap:Lewati", "tap:Lewati", "tap:Kirim"])
    assert (await sheet(db, ids["kasi"])).status == SheetState.SUBMITTED
    assert "lembar.minta_terlambat" not in await actions(db)


async def test_the_planners_own_late_sheet_is_decided_by_the_sekcam(db: Database):
    ids = await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await play(chat, PLANNER, SMALL_PK[:-1])
    chat.clock.value = FRIDAY_10
    await chat.new_messages()
    _, out = await chat.tap(PLANNER, "Kirim")
    assert {m.address for m in out} == {PLANNER, SEKCAM}
    told = next(m for m in out if m.address == PLANNER)
    assert "disampaikan kepada Sekcam" in told.text
    _, out = await chat.tap(SEKCAM, "Izinkan terlambat")
    assert (await sheet(db, ids["perencana"])).late_allowed_by == ids["sekcam"]
